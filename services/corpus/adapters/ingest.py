"""Storing items with de-duplication by normalised content, inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.corpus.adapters import store
from services.corpus.domain.content import TextInput, content_sha256

CREATED, EXISTING = 1, 2


async def add_texts(session: AsyncSession, items: Sequence[TextInput], *, origin: int, creator: str,
                    import_batch: str | None, when: datetime) -> list[tuple[int, dict[str, Any]]]:
    """Store the texts not yet in the corpus; one ``(outcome, row)`` per item, in order."""
    existing = await store.texts_by_sha(session, [i.content_sha256 for i in items])
    results: list[tuple[int, dict[str, Any]]] = []
    for item in items:
        if item.content_sha256 in existing:
            results.append((EXISTING, existing[item.content_sha256]))
            continue
        row = await store.insert_text(session, {
            "title": item.title, "content": item.content, "source": item.source, "origin": origin,
            "metadata": item.metadata, "word_count": item.word_count, "character_count": item.character_count,
            "size_bytes": item.size_bytes, "content_sha256": item.content_sha256, "import_batch": import_batch,
            "creator": creator, "create_time": when,
        })
        existing[item.content_sha256] = row
        results.append((CREATED, row))
    return results


async def add_questions(session: AsyncSession, cluster_id: str, items: Sequence[tuple[str, str]], *, origin: int,
                        creator: str, import_batch: str | None, when: datetime,
                        known: list[dict[str, Any]] | None = None) -> list[tuple[int, dict[str, Any]]]:
    """Store ``(content, source)`` questions the cluster lacks; one ``(outcome, row)`` per item, in order."""
    if known is None:
        known = (await store.questions_of(session, [cluster_id], content=True))[cluster_id]
    by_sha = {q["content_sha256"]: q for q in known}
    fresh: list[dict[str, Any]] = []
    plan: list[tuple[int, str]] = []
    for content, source in items:
        sha = content_sha256(content)
        if sha in by_sha:
            plan.append((EXISTING, sha))
            continue
        row = {"content": content, "content_sha256": sha, "source": source, "origin": origin,
               "import_batch": import_batch, "creator": creator}
        fresh.append(row)
        by_sha[sha] = row
        plan.append((CREATED, sha))
    stored = await store.insert_questions(session, cluster_id, fresh, when)
    for row in stored:
        by_sha[row["content_sha256"]] = row
    return [(outcome, by_sha[sha]) for outcome, sha in plan]


def unique_answers(contents: Sequence[str]) -> list[tuple[str, str]]:
    """``(content, sha)`` of answers with duplicates (by normalised content) dropped, order kept."""
    seen: dict[str, str] = {}
    for content in contents:
        seen.setdefault(content_sha256(content), content)
    return [(content, sha) for sha, content in seen.items()]
