"""Synthetic data: ``{slot}`` templates filled from value lists by a seeded generator, filtered and de-duplicated."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lathe.kit.errors import FieldViolation, InvalidArgument
from services.corpus.domain.content import normalise

MAX_TEMPLATES = 100
MAX_TEMPLATE_CHARS = 4096
MAX_VALUE_CHARS = 1024
MAX_SAMPLES = 10_000
SLOT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Template:
    """A parsed template: literal pieces and slot names, alternating (``pieces[i]`` then ``slots[i]``)."""

    pieces: tuple[str, ...]
    slots: tuple[str, ...]

    def fill(self, values: Mapping[str, str]) -> tuple[str, bool]:
        """The filled text and whether every slot had a value (an unfilled slot stays ``{name}``)."""
        out, complete = [], True
        for i, slot in enumerate(self.slots):
            out.append(self.pieces[i])
            if slot in values:
                out.append(values[slot])
            else:
                out.append("{" + slot + "}")
                complete = False
        out.append(self.pieces[-1])
        return "".join(out), complete


def parse_template(text: str, field: str) -> Template:
    """Parse ``{slot}`` placeholders (``{{``/``}}`` are literal braces); INVALID_ARGUMENT naming ``field``."""
    pieces: list[str] = []
    slots: list[str] = []
    buf: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "{" and text.startswith("{{", i):
            buf.append("{")
            i += 2
        elif c == "}" and text.startswith("}}", i):
            buf.append("}")
            i += 2
        elif c == "{":
            end = text.find("}", i)
            if end < 0:
                raise InvalidArgument.for_field(field, f"has an unbalanced '{{' at character {i + 1}",
                                                reason="INVALID_TEMPLATE")
            name = text[i + 1:end]
            if not SLOT_RE.fullmatch(name):
                raise InvalidArgument.for_field(field, f"slot name {name!r} is not an identifier",
                                                reason="INVALID_TEMPLATE")
            pieces.append("".join(buf))
            buf = []
            slots.append(name)
            i = end + 1
        elif c == "}":
            raise InvalidArgument.for_field(field, f"has an unbalanced '}}' at character {i + 1}",
                                            reason="INVALID_TEMPLATE")
        else:
            buf.append(c)
            i += 1
    pieces.append("".join(buf))
    return Template(tuple(pieces), tuple(slots))


@dataclass(frozen=True)
class Quality:
    """The quality filter's bounds (0 = none)."""

    min_characters: int = 0
    max_characters: int = 0
    min_words: int = 0

    def accepts(self, text: str) -> bool:
        """Whether a normalised sample passes the bounds."""
        if self.min_characters and len(text) < self.min_characters:
            return False
        if self.max_characters and len(text) > self.max_characters:
            return False
        return not (self.min_words and len(text.split()) < self.min_words)


@dataclass
class Sample:
    """One kept sample."""

    content: str
    template_index: int
    slot_values: dict[str, str]


@dataclass
class Generation:
    """The outcome of a generation run."""

    samples: list[Sample]
    candidate_count: int
    duplicate_count: int
    rejected_count: int


def validate_request(templates: Sequence[str], slot_values: Mapping[str, Sequence[str]], num_samples: int,
                     quality: Quality) -> list[Template]:
    """Parse the templates and check every bound; INVALID_ARGUMENT naming the field."""
    if not templates:
        raise InvalidArgument.for_field("templates", "must hold at least one template")
    if len(templates) > MAX_TEMPLATES:
        raise InvalidArgument.for_field("templates", f"holds {len(templates)}; the maximum is {MAX_TEMPLATES}")
    violations: list[FieldViolation] = []
    for i, t in enumerate(templates):
        if not t.strip():
            violations.append(FieldViolation(f"templates[{i}]", "must not be empty"))
        elif len(t) > MAX_TEMPLATE_CHARS:
            violations.append(FieldViolation(f"templates[{i}]", f"is longer than {MAX_TEMPLATE_CHARS} characters"))
    for slot, values in slot_values.items():
        if not SLOT_RE.fullmatch(slot):
            violations.append(FieldViolation(f"slot_values[{slot}]", "slot name is not an identifier"))
        if not values:
            violations.append(FieldViolation(f"slot_values[{slot}].values", "must hold at least one value"))
        for j, v in enumerate(values):
            if len(v) > MAX_VALUE_CHARS:
                violations.append(FieldViolation(f"slot_values[{slot}].values[{j}]",
                                                 f"is longer than {MAX_VALUE_CHARS} characters"))
    if not 1 <= num_samples <= MAX_SAMPLES:
        violations.append(FieldViolation("num_samples", f"must be in [1, {MAX_SAMPLES}] (got {num_samples})"))
    for name in ("min_characters", "max_characters", "min_words"):
        if getattr(quality, name) < 0:
            violations.append(FieldViolation(f"quality_filter.{name}", "must not be negative"))
    if violations:
        raise InvalidArgument(f"invalid request: {violations[0].field} {violations[0].description}",
                              field_violations=violations)
    return [parse_template(t, f"templates[{i}]") for i, t in enumerate(templates)]


def generate(templates: Sequence[Template], slot_values: Mapping[str, Sequence[str]], num_samples: int, seed: int,
             quality: Quality, *, allow_duplicates: bool, existing: set[str]) -> Generation:
    """Draw candidates until ``num_samples`` pass, every combination is exhausted, or ten times as many were drawn.

    ``existing`` holds the normalised contents already in the target; they count as duplicates.
    """
    rng = random.Random(seed)
    total_combinations = 0
    for t in templates:
        n = 1
        for slot in dict.fromkeys(t.slots):
            n *= max(1, len(slot_values.get(slot, ())))
        total_combinations += n
    seen_combos: set[tuple[int, tuple[str, ...]]] = set()
    seen_content: set[str] = set()
    samples: list[Sample] = []
    drawn = duplicates = rejected = 0
    while len(samples) < num_samples and drawn < 10 * num_samples:
        if not allow_duplicates and len(seen_combos) >= total_combinations:
            break
        index = rng.randrange(len(templates))
        template = templates[index]
        chosen = {slot: rng.choice(list(slot_values[slot])) for slot in dict.fromkeys(template.slots)
                  if slot_values.get(slot)}
        drawn += 1
        combo = (index, tuple(chosen.get(s, "\0") for s in dict.fromkeys(template.slots)))
        seen_combos.add(combo)
        text, complete = template.fill(chosen)
        normalised = normalise(text)
        if not complete or not normalised or not quality.accepts(normalised):
            rejected += 1
            continue
        if normalised in seen_content or normalised in existing:
            if not allow_duplicates:
                duplicates += 1
                continue
        seen_content.add(normalised)
        samples.append(Sample(text.strip(), index, chosen))
    return Generation(samples, drawn, duplicates, rejected)
