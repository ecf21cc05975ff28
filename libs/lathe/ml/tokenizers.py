"""Byte- and character-level tokenizers, stored with the model as ``tokenizer.json``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ByteTokenizer:
    """UTF-8 bytes as tokens: 256 symbols, any text, nothing to fit."""

    kind: str = "byte"

    @property
    def vocab_size(self) -> int:
        """Number of distinct tokens."""
        return 256

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``."""
        return list(text.encode("utf-8"))

    def decode(self, ids: Iterable[int]) -> str:
        """Text of token ids (invalid UTF-8 sequences become U+FFFD)."""
        return bytes(int(i) for i in ids).decode("utf-8", errors="replace")

    def to_json(self) -> str:
        """The ``tokenizer.json`` content."""
        return json.dumps({"kind": self.kind})


@dataclass(frozen=True)
class CharTokenizer:
    """One token per distinct character of the training text; unknown characters map to token 0."""

    chars: tuple[str, ...]
    kind: str = "char"

    @classmethod
    def fit(cls, text: str) -> CharTokenizer:
        """A tokenizer over the characters of ``text`` (sorted, so the same text gives the same ids)."""
        return cls(tuple(sorted(set(text))))

    @property
    def vocab_size(self) -> int:
        """Number of distinct tokens."""
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``."""
        index = {c: i for i, c in enumerate(self.chars)}
        return [index.get(c, 0) for c in text]

    def decode(self, ids: Iterable[int]) -> str:
        """Text of token ids."""
        return "".join(self.chars[int(i)] for i in ids)

    def to_json(self) -> str:
        """The ``tokenizer.json`` content."""
        return json.dumps({"kind": self.kind, "chars": list(self.chars)})


Tokenizer = ByteTokenizer | CharTokenizer


def tokenizer_from_json(text: str) -> Tokenizer:
    """Load a tokenizer written by ``to_json``."""
    data = json.loads(text)
    if data["kind"] == "byte":
        return ByteTokenizer()
    if data["kind"] == "char":
        return CharTokenizer(tuple(data["chars"]))
    raise ValueError(f"unknown tokenizer kind {data['kind']!r}")
