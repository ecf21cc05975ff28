"""Snapshot rules: member hashes, the content hash, the deterministic seeded split, counts and stream order."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum

from lathe.kit.errors import InvalidArgument

TEXT, ANSWER, QUESTION = "text", "answer", "question"
ENTITY_TYPE_NUMBER = {TEXT: 1, ANSWER: 2, QUESTION: 3}


class Split(IntEnum):
    """Mirrors ``lathe.corpus.v1.Split``."""

    UNSPECIFIED = 0
    TRAIN = 1
    VALIDATION = 2
    TEST = 3


class QaStrategy(IntEnum):
    """Mirrors ``QaSplitStrategy``."""

    UNSPECIFIED = 0
    BY_QUESTION = 1
    BY_CLUSTER = 2


class TextStrategy(IntEnum):
    """Mirrors ``TextSplitStrategy``."""

    UNSPECIFIED = 0
    BY_DOCUMENT = 1
    TAIL = 2


@dataclass(frozen=True)
class SplitRule:
    """A complete, validated split configuration (defaults filled in)."""

    qa_strategy: QaStrategy = QaStrategy.BY_QUESTION
    text_strategy: TextStrategy = TextStrategy.TAIL
    seed: int = 0
    validation_fraction: float = 0.1
    test_fraction: float = 0.0


def make_split_rule(qa: int, text: int, seed: int, validation: float | None, test: float | None) -> SplitRule:
    """Fill defaults and validate fractions; INVALID_ARGUMENT naming the field otherwise."""
    v = 0.1 if validation is None else validation
    t = 0.0 if test is None else test
    prefix = "snapshot.split_config"
    if not 0 <= v < 1:
        raise InvalidArgument.for_field(f"{prefix}.validation_fraction", f"must be in [0, 1) (got {v})")
    if not 0 <= t < 1:
        raise InvalidArgument.for_field(f"{prefix}.test_fraction", f"must be in [0, 1) (got {t})")
    if v + t >= 1:
        raise InvalidArgument.for_field(f"{prefix}.test_fraction", "validation_fraction + test_fraction must be < 1")
    if qa not in (0, 1, 2):
        raise InvalidArgument.for_field(f"{prefix}.qa_strategy", f"unknown strategy {qa}")
    if text not in (0, 1, 2):
        raise InvalidArgument.for_field(f"{prefix}.text_strategy", f"unknown strategy {text}")
    return SplitRule(QaStrategy(qa or QaStrategy.BY_QUESTION), TextStrategy(text or TextStrategy.TAIL), seed, v, t)


def sha256_hex(text: str) -> str:
    """sha256 of a UTF-8 string."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cluster_key(answer_hashes_in_position_order: Sequence[str]) -> str:
    """The key of a cluster: sha256 of its answers' content hashes in position order, joined by ``\\n``."""
    return sha256_hex("\n".join(answer_hashes_in_position_order))


def member_sha256(kind: str, key: str, content_hash: str) -> str:
    """``sha256("<type>\\n<cluster_key>\\n<content_sha256>")``; the cluster key is empty for texts."""
    return sha256_hex(f"{kind}\n{key}\n{content_hash}")


def held_out_draw(seed: int, item_hash: str) -> float:
    """sha256 of ``<seed>\\n<hash>`` read as a fraction of 2^256: a uniform, reproducible draw in [0, 1)."""
    return int(sha256_hex(f"{seed}\n{item_hash}"), 16) / float(2**256)


def _split_of(draw: float, rule: SplitRule) -> Split:
    if draw < rule.validation_fraction:
        return Split.VALIDATION
    if draw < rule.validation_fraction + rule.test_fraction:
        return Split.TEST
    return Split.TRAIN


@dataclass
class Member:
    """One snapshot member with everything the split and counts need."""

    entity: str
    kind: str
    content_sha256: str
    cluster_id: str = ""
    cluster_key: str = ""
    position: int = 0
    character_count: int = 0
    word_count: int = 0
    size_bytes: int = 0
    synthetic: bool = False
    member_sha256: str = ""
    split: Split = Split.UNSPECIFIED
    spans: list[tuple[int, int, int]] = field(default_factory=list)  # (split, start, end) for tail texts

    def __post_init__(self) -> None:
        if not self.member_sha256:
            self.member_sha256 = member_sha256(self.kind, self.cluster_key, self.content_sha256)

    @property
    def assignment(self) -> str:
        """The member's assignment as it enters ``member_list_sha256``."""
        if self.spans:
            return ",".join(f"{Split(s).name}:{a}-{b}" for s, a, b in self.spans)
        return self.split.name


def assign_splits(members: Sequence[Member], rule: SplitRule) -> None:
    """Assign every member's split (and tail spans) in place, by the deterministic seeded rule."""
    by_cluster: dict[str, list[Member]] = defaultdict(list)
    for m in members:
        if m.kind == TEXT:
            if rule.text_strategy == TextStrategy.TAIL:
                m.spans = tail_spans(m.character_count, rule)
                m.split = Split(m.spans[0][0]) if len(m.spans) == 1 else Split.UNSPECIFIED
            else:
                m.split = _split_of(held_out_draw(rule.seed, m.member_sha256), rule)
        else:
            by_cluster[m.cluster_id].append(m)
    for group in by_cluster.values():
        if rule.qa_strategy == QaStrategy.BY_CLUSTER:
            split = _split_of(held_out_draw(rule.seed, group[0].cluster_key), rule)
            for m in group:
                m.split = split
            continue
        questions = [m for m in group if m.kind == QUESTION]
        for m in group:
            m.split = Split.TRAIN if m.kind == ANSWER else _split_of(held_out_draw(rule.seed, m.member_sha256), rule)
        if len(questions) >= 2 and all(q.split != Split.TRAIN for q in questions):
            # Held-out paraphrases need a known answer: keep the question with the smallest hash in training.
            min(questions, key=lambda q: q.member_sha256).split = Split.TRAIN


def tail_spans(length: int, rule: SplitRule) -> list[tuple[int, int, int]]:
    """The (split, start, end) ranges of a text of ``length`` characters under a tail split."""
    test_len = int(length * rule.test_fraction)
    train_end = int(length * (1 - rule.validation_fraction - rule.test_fraction))
    val_end = length - test_len
    train_end = min(train_end, val_end)
    spans = [(Split.TRAIN, 0, train_end), (Split.VALIDATION, train_end, val_end), (Split.TEST, val_end, length)]
    kept = [(int(s), a, b) for s, a, b in spans if b > a]
    return kept or [(int(Split.TRAIN), 0, length)]


def content_hash(members: Sequence[Member]) -> str:
    """sha256 of the members' hashes sorted ascending and joined by ``\\n``."""
    return sha256_hex("\n".join(sorted(m.member_sha256 for m in members)))


def member_list_hash(members: Sequence[Member]) -> str:
    """sha256 of ``<member_sha256> <assignment>`` lines sorted by member hash."""
    lines = sorted(f"{m.member_sha256} {m.assignment}" for m in members)
    return sha256_hex("\n".join(lines))


def stream_order(members: Sequence[Member]) -> list[Member]:
    """Texts by member hash, then each cluster (by key, then id) with answers by position, questions by hash."""
    texts = sorted((m for m in members if m.kind == TEXT), key=lambda m: m.member_sha256)
    clusters: dict[str, list[Member]] = defaultdict(list)
    for m in members:
        if m.kind != TEXT:
            clusters[m.cluster_id].append(m)
    ordered = list(texts)
    for cid in sorted(clusters, key=lambda c: (clusters[c][0].cluster_key, c)):
        group = clusters[cid]
        ordered += sorted((m for m in group if m.kind == ANSWER), key=lambda m: m.position)
        ordered += sorted((m for m in group if m.kind == QUESTION), key=lambda m: m.member_sha256)
    return ordered


SPLIT_NAMES = ("total", "train", "validation", "test")


def counts(members: Sequence[Member]) -> dict[str, object]:
    """The snapshot's counts: totals and per split, as a plain dict shaped like ``SnapshotCounts``."""
    empty = {"text_count": 0, "character_count": 0, "word_count": 0, "qa_cluster_count": 0, "answer_count": 0,
             "question_count": 0}
    out: dict[str, dict[str, int]] = {name: dict(empty) for name in SPLIT_NAMES}
    clusters: dict[str, set[str]] = {name: set() for name in SPLIT_NAMES}
    by_split = {Split.TRAIN: "train", Split.VALIDATION: "validation", Split.TEST: "test"}
    for m in members:
        if m.kind == TEXT:
            out["total"]["text_count"] += 1
            out["total"]["character_count"] += m.character_count
            out["total"]["word_count"] += m.word_count
            if m.spans:
                for s, a, b in m.spans:
                    name = by_split[Split(s)]
                    out[name]["text_count"] += 1
                    out[name]["character_count"] += b - a
                if len(m.spans) == 1:
                    out[by_split[Split(m.spans[0][0])]]["word_count"] += m.word_count
            else:
                name = by_split[m.split]
                out[name]["text_count"] += 1
                out[name]["character_count"] += m.character_count
                out[name]["word_count"] += m.word_count
            continue
        key = "answer_count" if m.kind == ANSWER else "question_count"
        for name in ("total", by_split[m.split]):
            out[name][key] += 1
            clusters[name].add(m.cluster_id)
    for name in SPLIT_NAMES:
        out[name]["qa_cluster_count"] = len(clusters[name])
    return {
        "member_count": len(members),
        **out,
        "synthetic_member_count": sum(1 for m in members if m.synthetic),
        "content_size_bytes": sum(m.size_bytes for m in members),
    }
