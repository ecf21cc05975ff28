"""History service benchmark: keyset pages, SQL aggregates and record throughput over 100,000 sessions.

Starts the real history server in process on a fresh PostgreSQL database (from LATHE_TEST_DATABASE_URL,
default the local server; dropped at the end), bulk-loads 100,000 sessions across 100 users straight through
the repository (setup speed), then measures through the real gRPC server and stub:

* ListSessions p50/p99: the first page and the 50th page (reached by walking page tokens), for a user's own
  list and for an admin's list of everyone;
* GetStats p50/p99 for one user and for all users;
* RecordSession throughput with 8 concurrent clients.

Targets (issue 5): list p99 <= 20 ms on any page; per-user GetStats p99 <= 50 ms.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from lathe.history.v1 import history_service_pb2 as hs
from lathe.history.v1 import session_pb2
from lathe.history.v1.history_service_pb2_grpc import HistoryServiceStub
from lathe.kit.auth import ROLE_ADMIN, ROLE_SERVICE, ROLE_USER, write_tokens_file
from lathe.kit.clients import create_channel
from lathe.kit.db import create_database
from lathe.kit.logging import configure_logging
from lathe.kit.settings import LogFormat
from services.history.adapters.sessions_repository import SessionRepository
from services.history.app import build
from services.history.domain.sessions import content_sha256, normalize_session, project
from services.history.settings import HistorySettings

Session = session_pb2.Session
SESSIONS = 100_000
USERS = 100
RECIPES = ["causal-lm", "embedding-finetune", "projection-heads", "ngram-lm"]
TAGS = ["poetry", "news", "code", "legal", "chat", "science"]
START = datetime(2025, 1, 1, tzinfo=UTC)
LIST_SAMPLES = 300
STATS_SAMPLES = 200
ALL_STATS_SAMPLES = 30
WRITERS = 8
WRITES_PER_CLIENT = 250
TARGET_LIST_P99_MS = 20.0
TARGET_USER_STATS_P99_MS = 50.0


def make_session(rng: random.Random, owner: str) -> Session:
    start = START + timedelta(seconds=rng.randrange(0, 365 * 86_400))
    minutes = rng.randrange(1, 600)
    outcome = rng.choices([1, 2, 3], weights=[8, 1, 1])[0]
    session = Session(owner=owner, recipe=rng.choice(RECIPES), outcome=outcome,
                      training_job=f"trainingJobs/{uuid.UUID(int=rng.getrandbits(128), version=4)}",
                      example_counts=Session.Counts(requested=1000, succeeded=rng.randrange(0, 1000), failed=3),
                      tag_counts={t: rng.randrange(1, 50) for t in rng.sample(TAGS, rng.randrange(0, 3))},
                      metrics={"val_loss": rng.random() * 3, "perplexity": 1 + rng.random() * 20})
    session.start_time.FromDatetime(start)
    session.end_time.FromDatetime(start + timedelta(minutes=minutes))
    if rng.random() < 0.8:
        avg = rng.random()
        session.quality.CopyFrom(Session.Quality(min_score=avg * 0.5, avg_score=avg, max_score=min(1.0, avg * 1.5),
                                                 sample_count=20))
    if outcome == 2:
        session.error.code, session.error.message = 13, "worker crashed"
    if rng.random() < 0.1:
        session.fine_tune.CopyFrom(Session.FineTune(triggered=True, threshold=5000))
    if rng.random() < 0.5:
        session.storage_choices.append(Session.StorageChoice(artifact="examples", mode=2, uri="file:///data/x",
                                                             example_count=rng.randrange(0, 500)))
    return session


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


async def timed(samples: list[float], call) -> object:
    started = time.perf_counter()
    result = await call
    samples.append((time.perf_counter() - started) * 1000)
    return result


async def bulk_load(url: str, schema: str) -> float:
    db = create_database(url, schema=schema, pool_size=4)
    repo = SessionRepository(db.dialect)
    rng = random.Random(2025)
    started = time.perf_counter()
    now = datetime.now(UTC)
    batch: list = []
    for i in range(SESSIONS):
        record = normalize_session(make_session(rng, f"user{i % USERS:03d}"), owner=f"user{i % USERS:03d}")
        batch.append((str(uuid.UUID(int=rng.getrandbits(128), version=4)), record.SerializeToString(deterministic=True),
                      content_sha256(record), project(record)))
        if len(batch) == 5000 or i == SESSIONS - 1:
            async with db.sessions.begin() as session:
                await repo.insert_many(session, batch, now)
            batch = []
    async with db.engine.connect() as conn:
        await conn.execute(text("COMMIT"))
        await conn.execute(text("ANALYZE sessions"))
        await conn.execute(text("ANALYZE session_tags"))
    await db.dispose()
    return time.perf_counter() - started


async def walk_to(stub: HistoryServiceStub, page: int, size: int) -> str:
    token = ""
    for _ in range(page - 1):
        token = (await stub.ListSessions(hs.ListSessionsRequest(page_size=size, page_token=token))).next_page_token
    return token


async def main() -> int:
    configure_logging("warning", LogFormat.JSON, service="history")
    admin_url = make_url(os.environ.get("LATHE_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    dsn = admin_url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"lathe_bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(dsn)
    await conn.execute(f'CREATE DATABASE "{name}"')
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    tmp = Path(tempfile.mkdtemp(prefix="history-bench-"))
    tokens = {"admin": ("bench-admin", [ROLE_ADMIN]), "service": ("bench-service", [ROLE_SERVICE])}
    tokens.update({f"user{u:03d}": (f"bench-user-{u}", [ROLE_USER]) for u in range(USERS)})
    write_tokens_file(tmp / "tokens.json", [(tok, user, roles) for user, (tok, roles) in tokens.items()])
    settings = HistorySettings(home=tmp, port=0, database_url=url, database_schema="history",
                               tokens_file=tmp / "tokens.json", log_level="warning", log_format="json",
                               database_pool_size=16)
    server = await build(settings)
    await server.start()
    figures: dict[str, float] = {}
    try:
        load_s = await bulk_load(url, "history")
        figures["bulk_load_s"] = round(load_s, 1)
        channel = create_channel(server.address, token=None, default_timeout=60)

        def stub_for(user: str) -> HistoryServiceStub:
            token = tokens[user][0]
            return HistoryServiceStub(create_channel(server.address, token=token, default_timeout=60))

        admin = stub_for("admin")
        users = {u: stub_for(u) for u in (f"user{n:03d}" for n in range(USERS))}
        rng = random.Random(7)
        # Warm up connections and caches.
        for stub in list(users.values())[:10]:
            await stub.ListSessions(hs.ListSessionsRequest())
        lists: dict[str, list[float]] = {k: [] for k in ("user_first", "user_50th", "all_first", "all_50th")}
        # A user has 1,000 sessions: with 20 per page the 50th page is their last one.
        user_tokens = {u: await walk_to(s, 50, 20) for u, s in list(users.items())[:20]}
        all_token = await walk_to(admin, 50, 50)
        for _ in range(LIST_SAMPLES):
            user = rng.choice(list(user_tokens))
            await timed(lists["user_first"], users[user].ListSessions(hs.ListSessionsRequest(page_size=20)))
            page = await timed(lists["user_50th"], users[user].ListSessions(
                hs.ListSessionsRequest(page_size=20, page_token=user_tokens[user])))
            assert len(page.sessions) == 20
            await timed(lists["all_first"], admin.ListSessions(hs.ListSessionsRequest(page_size=50)))
            page = await timed(lists["all_50th"], admin.ListSessions(
                hs.ListSessionsRequest(page_size=50, page_token=all_token)))
            assert len(page.sessions) == 50
        for key, samples in lists.items():
            figures[f"list_{key}_p50_ms"] = round(statistics.median(samples), 2)
            figures[f"list_{key}_p99_ms"] = round(percentile(samples, 99), 2)
        user_stats: list[float] = []
        for _ in range(STATS_SAMPLES):
            user = rng.choice(list(users))
            stats = await timed(user_stats, users[user].GetStats(hs.GetStatsRequest()))
            assert stats.total_sessions == SESSIONS // USERS
        all_stats: list[float] = []
        for _ in range(ALL_STATS_SAMPLES):
            stats = await timed(all_stats, admin.GetStats(hs.GetStatsRequest()))
            assert stats.total_sessions == SESSIONS
        figures["stats_user_p50_ms"] = round(statistics.median(user_stats), 2)
        figures["stats_user_p99_ms"] = round(percentile(user_stats, 99), 2)
        figures["stats_all_p50_ms"] = round(statistics.median(all_stats), 2)
        figures["stats_all_p99_ms"] = round(percentile(all_stats, 99), 2)
        service = stub_for("service")
        write_rng = random.Random(99)
        requests = [[hs.RecordSessionRequest(session=make_session(write_rng, f"user{write_rng.randrange(USERS):03d}"),
                                             session_id=str(uuid.uuid4())) for _ in range(WRITES_PER_CLIENT)]
                    for _ in range(WRITERS)]
        record_latency: list[float] = []

        async def writer(batch: list[hs.RecordSessionRequest]) -> None:
            for request in batch:
                await timed(record_latency, service.RecordSession(request))

        started = time.perf_counter()
        await asyncio.gather(*(writer(batch) for batch in requests))
        elapsed = time.perf_counter() - started
        figures["record_per_s_8_clients"] = round(WRITERS * WRITES_PER_CLIENT / elapsed, 1)
        figures["record_p50_ms"] = round(statistics.median(record_latency), 2)
        figures["record_p99_ms"] = round(percentile(record_latency, 99), 2)
        await channel.close()
    finally:
        await server.stop(0)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()

    list_p99 = max(v for k, v in figures.items() if k.startswith("list_") and k.endswith("_p99_ms"))
    met = list_p99 <= TARGET_LIST_P99_MS and figures["stats_user_p99_ms"] <= TARGET_USER_STATS_P99_MS
    print(f"history bench: {SESSIONS:,} sessions across {USERS} users on PostgreSQL "
          f"(bulk load {figures['bulk_load_s']} s), measured through the gRPC server and stub")
    print(f"{'measure':<44}{'p50 ms':>10}{'p99 ms':>10}")
    rows = [
        ("ListSessions, user, first page (20)", "list_user_first"),
        ("ListSessions, user, 50th page (20)", "list_user_50th"),
        ("ListSessions, admin/all, first page (50)", "list_all_first"),
        ("ListSessions, admin/all, 50th page (50)", "list_all_50th"),
        ("GetStats, one user (1,000 sessions)", "stats_user"),
        ("GetStats, all users (100,000 sessions)", "stats_all"),
        ("RecordSession, 8 concurrent clients", "record"),
    ]
    for label, key in rows:
        prefix = key if key.startswith(("stats", "record")) else f"list_{key.removeprefix('list_')}"
        print(f"{label:<44}{figures[f'{prefix}_p50_ms']:>10}{figures[f'{prefix}_p99_ms']:>10}")
    print(f"RecordSession throughput, 8 clients: {figures['record_per_s_8_clients']} sessions/s")
    print(f"targets: every ListSessions p99 <= {TARGET_LIST_P99_MS} ms (worst {list_p99} ms); "
          f"per-user GetStats p99 <= {TARGET_USER_STATS_P99_MS} ms ({figures['stats_user_p99_ms']} ms)")
    print(json.dumps({"bench": "history", "figures": figures,
                      "targets": {"list_p99_ms": TARGET_LIST_P99_MS, "stats_user_p99_ms": TARGET_USER_STATS_P99_MS},
                      "met": met}))
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
