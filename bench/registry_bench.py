"""Registry benchmark: CreateModelVersion throughput, SearchModelVersions and GetVersionByAlias latency.

Runs the real registry as its own process (`python -m services.registry`) on a fresh PostgreSQL database
(from LATHE_TEST_DATABASE_URL, default the local server) and calls it through real stubs from this process.
Every figure is the median of three rounds (create rates alternate 1 and 8 clients; each search round is 300
queries per filter, its p99 the 3rd-slowest), because this machine is shared and noisy. Search is measured at
5,000 and at 100,000 versions, bulk-loaded with COPY in the registry's own schema, rows shaped exactly as the
service writes them (the load is setup, not what is measured); creates are measured last, into the
100,000-version catalogue.

    python bench/registry_bench.py
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy.engine import make_url

from lathe.kit.auth import write_tokens_file
from lathe.kit.clients import create_channel
from lathe.registry.v1 import model_pb2, model_version_pb2
from lathe.registry.v1 import registry_service_pb2 as rs
from lathe.registry.v1.registry_service_pb2_grpc import RegistryServiceStub

MV = model_version_pb2.ModelVersion
TOKEN = "bench-token"
MODELS = 1000
TEAMS = 20
SEARCHES = 300
ROUNDS = 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def wait_healthy(address: str, process: subprocess.Popen) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        for _ in range(300):
            if process.poll() is not None:
                raise RuntimeError("the registry exited during start-up")
            try:
                reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.aio.AioRpcError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the registry did not become healthy")


def artifact(root: Path) -> tuple[str, model_version_pb2.Manifest]:
    root.mkdir(parents=True, exist_ok=True)
    data = b"w" * 1024
    (root / "model.safetensors").write_bytes(data)
    manifest = model_version_pb2.Manifest()
    manifest.files.add(path="model.safetensors", size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
    return root.as_uri(), manifest


def version_request(model: str, uri: str, manifest: model_version_pb2.Manifest, rng: random.Random
                    ) -> rs.CreateModelVersionRequest:
    mv = MV(artifact_uri=uri, manifest=manifest, recipe="causal-lm",
            tags={"team": f"team-{rng.randrange(TEAMS)}", "stage": rng.choice(["exp", "prod"])})
    mv.metrics.add(key="val_loss", value=rng.uniform(0.5, 3.0), split="validation")
    mv.metrics.add(key="perplexity", value=rng.uniform(2, 20), split="validation")
    mv.hyperparameters["lr"].number_value = rng.choice([1e-3, 3e-4, 1e-4])
    return rs.CreateModelVersionRequest(parent=f"models/{model}", model_version=mv, request_id=str(uuid.uuid4()))


async def create_throughput(address: str, clients: int, seconds: float, uri: str,
                            manifest: model_version_pb2.Manifest) -> float:
    """Versions created per second by ``clients`` concurrent clients, each on its own channel and model."""
    channels = [create_channel(address, token=TOKEN) for _ in range(clients)]
    stubs = [RegistryServiceStub(c) for c in channels]
    counts = [0] * clients
    deadline = time.perf_counter() + seconds

    async def client(i: int) -> None:
        rng = random.Random(i)
        model = f"model-{i:04d}"
        while time.perf_counter() < deadline:
            await stubs[i].CreateModelVersion(version_request(model, uri, manifest, rng))
            counts[i] += 1

    for stub in stubs:  # warm the connections
        await stub.GetModel(rs.GetModelRequest(name="models/model-0000"))
    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    elapsed = time.perf_counter() - started
    for channel in channels:
        await channel.close()
    return sum(counts) / elapsed


async def bulk_load(dsn: str, schema: str, total: int, uri: str, manifest: model_version_pb2.Manifest) -> None:
    """COPY versions (and their metrics, tags, params) until the registry holds ``total`` versions."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        have = await conn.fetchval("SELECT count(*) FROM model_versions")
        need = total - have
        if need <= 0:
            return
        models = await conn.fetch("SELECT uid, model_id, latest_version_number FROM models ORDER BY model_id")
        next_number = {m["uid"]: m["latest_version_number"] for m in models}
        next_id = (await conn.fetchval("SELECT coalesce(max(id), 0) FROM model_versions")) + 1
        rng = random.Random(total)
        now = datetime.now(UTC)
        versions, metrics, tags, params = [], [], [], []
        digest = "sha256:" + hashlib.sha256(
            f"{manifest.files[0].sha256} {manifest.files[0].size_bytes} model.safetensors\n".encode()).hexdigest()
        for i in range(need):
            model = models[rng.randrange(len(models))]
            next_number[model["uid"]] += 1
            request = version_request(model["model_id"], uri, manifest, rng)
            detail = request.model_version
            detail.creator = "bench"
            detail.manifest.digest = digest
            detail.manifest.total_size_bytes = manifest.files[0].size_bytes
            when = now - timedelta(seconds=need - i)
            vid = next_id + i
            versions.append((vid, str(uuid.uuid4()), model["uid"], next_number[model["uid"]], MV.STATE_READY, None,
                             "", "bench", "causal-lm", "", uri, digest, "", "", "", "", "", "",
                             detail.SerializeToString(), when, when, None, None, False, 1))
            metrics += [(vid, m.key, m.value) for m in detail.metrics]
            tags += [(vid, k, v) for k, v in detail.tags.items()]
            params.append((vid, "lr", "n", detail.hyperparameters["lr"].number_value, None))
        async with conn.transaction():
            await conn.copy_records_to_table("model_versions", records=versions, columns=[
                "id", "uid", "model_uid", "number", "state", "error", "description", "creator", "recipe",
                "architecture_family", "artifact_uri", "manifest_digest", "lineage_snapshot",
                "lineage_snapshot_digest", "lineage_training_job", "lineage_parent_version", "lineage_code_version",
                "lineage_base_model", "detail", "create_time", "update_time", "archive_time", "verification",
                "integrity_failed", "revision"])
            await conn.copy_records_to_table("version_metrics", records=metrics, columns=["version_id", "key", "value"])
            await conn.copy_records_to_table("version_tags", records=tags, columns=["version_id", "key", "value"])
            await conn.copy_records_to_table("version_params", records=params,
                                             columns=["version_id", "key", "kind", "num_value", "str_value"])
            await conn.executemany("UPDATE models SET latest_version_number = $2 WHERE uid = $1",
                                   list(next_number.items()))
            await conn.execute("SELECT setval(pg_get_serial_sequence('model_versions', 'id'), $1)",
                               next_id + need)
        # What autovacuum does after a bulk insert: statistics, and the visibility map index-only scans need.
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def latencies(call, n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        await call()
        out.append((time.perf_counter() - started) * 1000)
    return out


async def search_latencies(stub: RegistryServiceStub, rng: random.Random) -> dict[str, list[float]]:
    queries = {
        "name": lambda: f"name = 'model-{rng.randrange(MODELS):04d}'",
        "tag": lambda: f"tags.team = 'team-{rng.randrange(TEAMS)}'",
        "metric_range": lambda: (lambda lo: f"metrics.val_loss >= {lo:.3f} AND metrics.val_loss < {lo + 0.05:.3f}")(
            rng.uniform(0.5, 2.9)),
    }
    out: dict[str, list[float]] = {}
    for label, make in queries.items():
        for _ in range(20):  # warm caches and the plan
            await stub.SearchModelVersions(rs.SearchModelVersionsRequest(filter=make()))
        out[label] = await latencies(lambda make=make: stub.SearchModelVersions(
            rs.SearchModelVersionsRequest(filter=make())), SEARCHES)
    return out


async def main() -> int:
    admin_url = make_url(os.environ.get("LATHE_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    admin_dsn = admin_url.set(drivername="postgresql").render_as_string(hide_password=False)
    database = f"lathe_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'CREATE DATABASE "{database}"')
    dsn = admin_url.set(drivername="postgresql", database=database).render_as_string(hide_password=False)
    work = Path(tempfile.mkdtemp(prefix="registry-bench-"))
    tokens = work / "tokens.json"
    write_tokens_file(tokens, [(TOKEN, "bench", ["user", "service"])])
    port = free_port()
    address = f"127.0.0.1:{port}"
    env = {**os.environ, "LATHE_DATABASE_URL": dsn, "LATHE_PORT": str(port), "LATHE_HOME": str(work),
           "LATHE_TOKENS_FILE": str(tokens), "LATHE_LOG_LEVEL": "warning", "LATHE_LOG_FORMAT": "json",
           "LATHE_HISTORY_ADDRESS": "127.0.0.1:9"}
    server = subprocess.Popen([sys.executable, "-m", "services.registry"], env=env,
                              stdout=subprocess.DEVNULL, stderr=open(work / "registry.log", "wb"))
    figures: dict[str, float] = {}
    rounds: dict[str, list[float]] = {}
    try:
        await wait_healthy(address, server)
        uri, manifest = artifact(work / "artifact")
        async with create_channel(address, token=TOKEN) as channel:
            stub = RegistryServiceStub(channel)
            for i in range(MODELS):
                await stub.CreateModel(rs.CreateModelRequest(model_id=f"model-{i:04d}", model=model_pb2.Model()))
            rng = random.Random(7)
            for total in (5_000, 100_000):
                await bulk_load(dsn, "registry", total, uri, manifest)
                if total == 5_000:
                    first = (await stub.ListModelVersions(rs.ListModelVersionsRequest(parent="models/model-0000"))
                             ).model_versions[0]
                    await stub.SetAlias(rs.SetAliasRequest(model="models/model-0000", alias="production",
                                                           version=first.name))
                per_round = [await search_latencies(stub, rng) for _ in range(ROUNDS)]
                for label in per_round[0]:
                    p50s = [percentile(r[label], 50) for r in per_round]
                    p99s = [percentile(r[label], 99) for r in per_round]
                    figures[f"search_{label}_p50_ms_{total}"] = round(statistics.median(p50s), 3)
                    figures[f"search_{label}_p99_ms_{total}"] = round(statistics.median(p99s), 3)
                    rounds[f"search_{label}_p99_ms_{total}"] = [round(x, 2) for x in p99s]
            alias = await latencies(lambda: stub.GetVersionByAlias(rs.GetVersionByAliasRequest(
                model="models/model-0000", alias="production")), 500)
            figures["alias_p50_ms"] = round(percentile(alias, 50), 3)
            figures["alias_p99_ms"] = round(percentile(alias, 99), 3)
            # Creates last, into the 100,000-version catalogue; rounds alternate 1 and 8 clients, medians reported.
            rates: dict[int, list[float]] = {1: [], 8: []}
            for _ in range(ROUNDS):
                for clients in (1, 8):
                    rates[clients].append(await create_throughput(address, clients, 5, uri, manifest))
            for clients, label in ((1, "1_client"), (8, "8_clients")):
                figures[f"create_per_s_{label}"] = statistics.median(rates[clients])
                rounds[f"create_per_s_{label}"] = [round(r, 1) for r in rates[clients]]
    finally:
        server.terminate()
        server.wait(30)
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()

    figures["create_per_s_1_client"] = round(figures["create_per_s_1_client"], 1)
    figures["create_per_s_8_clients"] = round(figures["create_per_s_8_clients"], 1)
    worst_100k = max(figures[f"search_{q}_p99_ms_100000"] for q in ("name", "tag", "metric_range"))
    growth = max(figures[f"search_{q}_p99_ms_100000"] / figures[f"search_{q}_p99_ms_5000"]
                 for q in ("name", "tag", "metric_range"))
    figures["search_worst_p99_ms_100000"] = worst_100k
    figures["search_worst_p99_growth_5k_to_100k"] = round(growth, 2)
    targets = {"create_per_s_8_clients": ">= 1000", "search_worst_p99_ms_100000": "<= 15",
               "search_worst_p99_growth_5k_to_100k": "<= 2.0"}
    met = (figures["create_per_s_8_clients"] >= 1000 and worst_100k <= 15 and growth <= 2.0)

    print(f"{'figure':<40} {'value':>12}")
    print("-" * 53)
    for key, value in figures.items():
        print(f"{key:<40} {value:>12}")
    print("-" * 53)
    print(f"each of {ROUNDS} rounds (the figures above are their medians):")
    for key, values in rounds.items():
        print(f"  {key:<38} {', '.join(str(v) for v in values)}")
    print("-" * 53)
    for key, target in targets.items():
        print(f"target {key} {target}: {figures[key]}")
    print(json.dumps({"bench": "registry", "figures": figures, "targets": targets, "met": met}))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
