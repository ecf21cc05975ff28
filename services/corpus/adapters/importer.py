"""File imports: the change-detecting scan, and the background worker that runs import batches.

Workers are asyncio tasks inside the service. They claim the oldest ``PENDING`` batch with a conditional
update (so several workers, or replicas, never run one batch twice), run it, and sleep until woken or until
the poll interval passes. On start-up, batches an interrupted process left ``IMPORTING`` or ``EMBEDDING`` go
back to ``PENDING`` (or ``FAILED`` with ``ATTEMPTS_EXHAUSTED``) and are picked up again. Snapshots left
``CREATING`` are finished by the same workers.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import select, update

from lathe.kit.db import Database
from lathe.kit.errors import FieldViolation, LatheError, ResourceExhausted
from services.corpus.adapters import ingest, store
from services.corpus.adapters.tables import import_batches, snapshot_members, snapshots
from services.corpus.adapters.vectors import EmbedItem, VectorStore, load_items
from services.corpus.domain import formats
from services.corpus.domain.content import (
    MAX_ANSWER_BYTES,
    MAX_QUESTION_BYTES,
    check_content,
    new_id,
    parse_entity,
    validate_tags,
    validate_text,
)
from services.corpus.domain.paths import outside

_log = structlog.get_logger("lathe.corpus.importer")

PENDING, IMPORTING, EMBEDDING, COMPLETED, FAILED = 1, 2, 3, 4, 5
SNAPSHOT_CREATING, SNAPSHOT_READY, SNAPSHOT_FAILED = 1, 2, 3
EMPTY_RESULTS = {k: 0 for k in (
    "item_count", "texts_created", "texts_existing", "qa_clusters_created", "qa_clusters_updated",
    "answers_created", "questions_created", "questions_existing", "embeddings_created", "embeddings_total")}


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A regex for a path glob: ``**/`` any folders, ``**`` anything, ``*`` within a segment, ``?`` one char."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def walk(root: Path, roots: Sequence[Path], pattern: re.Pattern[str], max_files: int) -> list[tuple[str, Path]]:
    """Files under ``root`` whose relative path matches ``pattern``, sorted; links are checked, never escaped."""
    found: list[tuple[str, Path]] = []
    stack = [(root, "")]
    while stack:
        folder, prefix = stack.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                rel = prefix + entry.name
                if entry.is_symlink():
                    target = Path(entry.path).resolve()
                    if not any(target == r or r in target.parents for r in roots):
                        raise outside(str(Path(entry.path)))
                    # Linked folders are not followed (no cycles); linked files inside the roots are read.
                    if target.is_file() and pattern.match(rel):
                        found.append((rel, Path(entry.path)))
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append((Path(entry.path), rel + "/"))
                elif entry.is_file(follow_symlinks=False) and pattern.match(rel):
                    found.append((rel, Path(entry.path)))
                    if len(found) > max_files:
                        raise ResourceExhausted(
                            f"the scan matches more than {max_files} files (LATHE_CORPUS_MAX_SCAN_FILES)",
                            reason="TOO_MANY_FILES", metadata={"max_files": str(max_files)})
    found.sort()
    return found


def hash_files(files: list[tuple[str, Path]]) -> list[tuple[str, str, int, bytes]]:
    """``(path, sha256, size, head)`` of every file; ``head`` is the first 4 KiB, enough to detect the format."""
    out = []
    for rel, path in files:
        digest = hashlib.sha256()
        size = 0
        head = b""
        with open(path, "rb") as handle:
            for chunk in iter(lambda h=handle: h.read(1 << 20), b""):
                if not size:
                    head = chunk[:4096]
                digest.update(chunk)
                size += len(chunk)
        out.append((rel, digest.hexdigest(), size, head))
    return out


class ImportWorker:
    """Runs import batches and finishes snapshots in the background."""

    def __init__(self, db: Database, vectors: VectorStore, roots: Sequence[Path], *, workers: int,
                 max_attempts: int, poll_seconds: float, max_text_bytes: int, max_file_bytes: int) -> None:
        self.db = db
        self.vectors = vectors
        self.roots = list(roots)
        self.workers = workers
        self.max_attempts = max_attempts
        self.poll_seconds = poll_seconds
        self.max_text_bytes = max_text_bytes
        self.max_file_bytes = max_file_bytes
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Recover interrupted batches, then start the worker tasks."""
        await self.recover()
        self._tasks = [asyncio.create_task(self._loop(n), name=f"corpus-import-{n}") for n in range(self.workers)]

    def wake(self) -> None:
        """Tell idle workers there is new work."""
        self._wake.set()

    async def stop(self) -> None:
        """Cancel the workers; a batch they were running is recovered at the next start."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self._tasks = []

    async def recover(self) -> None:
        """Batches left in progress by a dead process go back to PENDING, or FAILED once attempts are spent."""
        async with self.db.sessions.begin() as session:
            rows = (await session.execute(
                select(import_batches).where(import_batches.c.state.in_([IMPORTING, EMBEDDING])))).all()
            when = store.now()
            for raw in rows:
                row = store.as_dict(raw)
                if row["attempt_count"] >= self.max_attempts:
                    reason = f"interrupted {row['attempt_count']} times; giving up"
                    await store.save_batch(
                        session, row["id"], state=FAILED, update_time=when, end_time=when,
                        history=store.transition(row, FAILED, when, reason),
                        error={"code": 10, "message": reason, "reason": "ATTEMPTS_EXHAUSTED"},
                        failure={"path": row["path"], "line": 0, "column": 0, "reason": reason,
                                 "reason_code": "ATTEMPTS_EXHAUSTED"})
                else:
                    await store.save_batch(
                        session, row["id"], state=PENDING, update_time=when, start_time=None,
                        history=store.transition(row, PENDING, when, "interrupted by service restart"))
                _log.info("import_batch_recovered", batch=row["id"], previous_state=row["state"])

    async def _loop(self, n: int) -> None:
        while True:
            try:
                batch = await self._claim()
                if batch is not None:
                    await self.run(batch)
                    continue
                if n == 0 and await self._finish_one_snapshot():
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:  # a worker never dies: log, pause, go on
                _log.exception("import_worker_error")
                await asyncio.sleep(self.poll_seconds)
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            except TimeoutError:
                pass

    async def _claim(self) -> dict[str, Any] | None:
        async with self.db.sessions.begin() as session:
            query = select(import_batches).where(import_batches.c.state == PENDING).order_by(
                import_batches.c.create_time, import_batches.c.id).limit(1)
            if self.db.dialect == "postgresql":
                query = query.with_for_update(skip_locked=True)
            raw = (await session.execute(query)).first()
            if raw is None:
                return None
            row = store.as_dict(raw)
            when = store.now()
            row["attempt_count"] += 1
            history = store.transition(row, IMPORTING, when)
            result = await session.execute(
                update(import_batches).where(import_batches.c.id == row["id"], import_batches.c.state == PENDING)
                .values(state=IMPORTING, attempt_count=row["attempt_count"], history=history, start_time=when,
                        update_time=when, end_time=None, error=None, failure=None))
            if result.rowcount != 1:
                return None
            row.update(state=IMPORTING, history=history, start_time=when)
            return row

    async def _fail(self, row: dict[str, Any], code: str, reason: str, line: int = 0, column: int = 0) -> None:
        when = store.now()
        where = f"{row['path']}:{line}" + (f":{column}" if column else "") if line else row["path"]
        message = f"{where}: {reason}"
        async with self.db.sessions.begin() as session:
            current = await store.get_batch(session, row["id"], for_update=True)
            await store.save_batch(
                session, row["id"], state=FAILED, update_time=when, end_time=when,
                history=store.transition(current, FAILED, when, message[:500]),
                error={"code": 9 if code != "INTERNAL" else 13, "message": message, "reason": code},
                failure={"path": row["path"], "line": line, "column": column, "reason": reason, "reason_code": code})
        _log.info("import_batch_failed", batch=row["id"], path=row["path"], line=line, reason=reason, code=code)

    async def run(self, row: dict[str, Any]) -> None:
        """Run one claimed batch to COMPLETED or FAILED."""
        try:
            await self._run(row)
        except asyncio.CancelledError:
            raise
        except LatheError as exc:
            await self._fail(row, exc.reason, exc.message)
        except Exception as exc:
            _log.exception("import_batch_crashed", batch=row["id"])
            await self._fail(row, "INTERNAL", f"unexpected error: {type(exc).__name__}")

    async def _run(self, row: dict[str, Any]) -> None:
        path = Path(row["root"]) / row["path"]
        try:
            resolved = path.resolve()
            if not any(resolved == r or r in resolved.parents for r in self.roots):
                await self._fail(row, "FILE_OUTSIDE_IMPORT_ROOTS", "the file now resolves outside the import roots")
                return
            size = path.stat().st_size
            if size > self.max_file_bytes:
                await self._fail(row, "FILE_TOO_LARGE", f"the file is {size} bytes; the maximum is "
                                                        f"{self.max_file_bytes}")
                return
            data = await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            await self._fail(row, "FILE_MISSING", "the file no longer exists")
            return
        except OSError as exc:
            await self._fail(row, "FILE_UNREADABLE", f"the file cannot be read: {exc.strerror}")
            return
        sha = hashlib.sha256(data).hexdigest()
        fmt = formats.Format(row["format"]) if row["format_explicit"] else formats.detect(row["path"], data)
        try:
            parsed = await asyncio.to_thread(formats.parse, fmt, row["path"], data)
            self._validate(parsed)
        except formats.ParseFailure as failure:
            async with self.db.sessions.begin() as session:
                await store.save_batch(session, row["id"], file_sha256=sha, size_bytes=len(data), format=int(fmt))
            await self._fail(row, failure.code, failure.reason, failure.line, failure.column)
            return
        items, results = await self._store(row, parsed, sha, len(data), fmt)
        models = list(row["embedding_models"])
        total = 0
        for model in models:
            total += len(await self.vectors.missing(model, [i.entity for i in items]))
        results["embeddings_total"] = total
        async with self.db.sessions.begin() as session:
            await store.save_batch(session, row["id"], results=results)
        base = 0
        for model in models:
            async def progress(done: int, _total: int, base: int = base) -> None:
                results["embeddings_created"] = base + done
                async with self.db.sessions.begin() as session:
                    await store.save_batch(session, row["id"], results=dict(results), update_time=store.now())
            try:
                base += await self.vectors.ensure(model, items, progress)
            except LatheError as exc:
                await self._fail(row, "EMBEDDING_FAILED", f"embedding with {model} failed: {exc.message}")
                return
        when = store.now()
        async with self.db.sessions.begin() as session:
            current = await store.get_batch(session, row["id"], for_update=True)
            await store.save_batch(session, row["id"], state=COMPLETED, update_time=when, end_time=when,
                                   history=store.transition(current, COMPLETED, when))
        _log.info("import_batch_completed", batch=row["id"], path=row["path"], **results)

    def _validate(self, parsed: formats.ParsedFile) -> None:
        for text in parsed.texts:
            violations: list[FieldViolation] = []
            validate_text(title=text.title, content=text.content, source=text.source[:512], metadata=text.metadata,
                          prefix="text", max_bytes=self.max_text_bytes, violations=violations)
            if violations:
                v = violations[0]
                raise formats.ParseFailure(f"{v.field} {v.description}", line=text.line, code="INVALID_ITEM")
        for cluster in parsed.clusters:
            violations = []
            for i, answer in enumerate(cluster.answers):
                check_content(answer, f"answers[{i}]", MAX_ANSWER_BYTES, violations)
            for i, question in enumerate(cluster.questions):
                check_content(question, f"questions[{i}]", MAX_QUESTION_BYTES, violations)
            validate_tags(cluster.tags, "tags", violations)
            if len(cluster.external_id) > 256 or len(cluster.title) > 512:
                violations.append(FieldViolation("id", "id must be at most 256 and title at most 512 characters"))
            if violations:
                v = violations[0]
                where = f"record {cluster.external_id!r}: " if cluster.external_id else ""
                raise formats.ParseFailure(f"{where}{v.field} {v.description}", line=cluster.line,
                                           code="INVALID_ITEM")

    async def _store(self, row: dict[str, Any], parsed: formats.ParsedFile, sha: str, size: int,
                     fmt: formats.Format) -> tuple[list[EmbedItem], dict[str, int]]:
        """Store the file's items in one transaction and move the batch to EMBEDDING."""
        results = dict(EMPTY_RESULTS, item_count=parsed.item_count)
        items: list[EmbedItem] = []
        batch_name = row["id"]
        creator = row["creator"]
        async with self.db.sessions.begin() as session:
            when = store.now()
            text_inputs = [validate_text(title=t.title[:512], content=t.content, source=t.source[:512],
                                         metadata=t.metadata, prefix="text", max_bytes=self.max_text_bytes,
                                         violations=[]) for t in parsed.texts]
            stored = await ingest.add_texts(session, [t for t in text_inputs if t is not None],
                                            origin=store.ORIGIN_IMPORT, creator=creator, import_batch=batch_name,
                                            when=when)
            for (outcome, text_row), item in zip(stored, text_inputs, strict=True):
                results["texts_created" if outcome == ingest.CREATED else "texts_existing"] += 1
                items.append(EmbedItem(f"texts/{text_row['id']}", "text", item.content, item.content_sha256))
            existing = await store.clusters_by_external_id(session, [c.external_id for c in parsed.clusters])
            for cluster in parsed.clusters:
                current = existing.get(cluster.external_id) if cluster.external_id else None
                if current is None:
                    answer_pairs = ingest.unique_answers(cluster.answers)
                    current = await store.insert_cluster(
                        session, cluster_id=None, title=cluster.title[:512], external_id=cluster.external_id,
                        tags=cluster.tags, source=row["path"][:512], origin=store.ORIGIN_IMPORT,
                        import_batch=batch_name, creator=creator, answer_contents=answer_pairs, when=when)
                    if cluster.external_id:
                        existing[cluster.external_id] = current
                    results["qa_clusters_created"] += 1
                    results["answers_created"] += len(answer_pairs)
                    known: list[dict[str, Any]] = []
                    is_new = True
                else:
                    known = (await store.questions_of(session, [current["id"]]))[current["id"]]
                    is_new = False
                cid = current["id"]
                added = await ingest.add_questions(
                    session, cid, [(q, row["path"][:512]) for q in cluster.questions], origin=store.ORIGIN_IMPORT,
                    creator=creator, import_batch=batch_name, when=when, known=known)
                created = sum(1 for outcome, _ in added if outcome == ingest.CREATED)
                results["questions_created"] += created
                results["questions_existing"] += len(added) - created
                if created and not is_new:
                    results["qa_clusters_updated"] += 1
                for answer in (await store.answers_of(session, [cid]))[cid]:
                    items.append(EmbedItem(f"qaClusters/{cid}/answers/{answer['id']}", "answer", answer["content"],
                                           answer["content_sha256"]))
                for _, q in added:
                    items.append(EmbedItem(f"qaClusters/{cid}/questions/{q['id']}", "question", q["content"],
                                           q["content_sha256"]))
            current_row = await store.get_batch(session, row["id"], for_update=True)
            await store.save_batch(session, row["id"], state=EMBEDDING, update_time=when, results=results,
                                   file_sha256=sha, size_bytes=size, format=int(fmt),
                                   history=store.transition(current_row, EMBEDDING, when))
        return list({i.entity: i for i in items}.values()), results

    # ---- snapshots ----------------------------------------------------------------------------------------------

    async def _finish_one_snapshot(self) -> bool:
        async with self.db.sessions() as session:
            raw = (await session.execute(select(snapshots.c.id, snapshots.c.embedding_models).where(
                snapshots.c.state == SNAPSHOT_CREATING).order_by(snapshots.c.create_time).limit(1))).first()
            if raw is None:
                return False
            members = (await session.execute(select(snapshot_members.c.entity).where(
                snapshot_members.c.snapshot_id == raw.id))).scalars().all()
        try:
            refs = [parse_entity(e, "entity") for e in members]
            items = list((await load_items(self.db, refs)).values())
            for model in raw.embedding_models:
                await self.vectors.ensure(model, items)
            state, error = SNAPSHOT_READY, None
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            _log.exception("snapshot_embedding_failed", snapshot=raw.id)
            message = exc.message if isinstance(exc, LatheError) else type(exc).__name__
            state, error = SNAPSHOT_FAILED, {"code": 9, "message": f"embedding failed: {message}",
                                             "reason": "EMBEDDING_FAILED"}
        async with self.db.sessions.begin() as session:
            await session.execute(update(snapshots).where(snapshots.c.id == raw.id).values(
                state=state, error=error, update_time=store.now()))
        _log.info("snapshot_finished", snapshot=raw.id, state=state)
        return True


def new_batch_row(*, root: str, path: str, fmt: int, explicit: bool, sha: str, size: int, scan_id: str,
                  models: list[str], creator: str) -> dict[str, Any]:
    """A fresh PENDING batch row."""
    when = store.now()
    return {
        "id": new_id(), "root": root, "path": path, "format": fmt, "format_explicit": explicit, "file_sha256": sha,
        "size_bytes": size, "state": PENDING,
        "history": [{"state": PENDING, "time": when.isoformat(), "attempt": 0, "message": ""}],
        "error": None, "failure": None, "results": dict(EMPTY_RESULTS), "attempt_count": 0, "scan_id": scan_id,
        "embedding_models": models, "creator": creator, "create_time": when, "update_time": when,
        "start_time": None, "end_time": None,
    }


def elapsed(start: float) -> float:
    """Seconds since ``start`` (a ``time.perf_counter`` reading)."""
    return time.perf_counter() - start
