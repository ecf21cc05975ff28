"""Pure corpus rules: normalisation, formats, filters, the seeded split and template generation."""

from __future__ import annotations

import pytest

from lathe.kit.datasets import datasets_dir
from lathe.kit.errors import InvalidArgument
from services.corpus.domain import filtering, formats, synthetic
from services.corpus.domain import snapshots as snap
from services.corpus.domain.content import content_sha256, normalise


def test_normalisation_ignores_line_endings_nfc_and_surrounding_whitespace():
    assert normalise(" caf\u0065\u0301\r\nbar \n") == "caf\u00e9\nbar"
    assert content_sha256("a\r\nb") == content_sha256("  a\nb\n")
    assert content_sha256("a b") != content_sha256("a  b")


def test_formats_are_detected_and_a_broken_line_is_reported():
    assert formats.detect("x.md", b"") == formats.Format.PLAIN_TEXT
    assert formats.detect("x.jsonl", b'{"content": "a"}\n') == formats.Format.JSONL_TEXTS
    assert formats.detect("x.jsonl", b'{"answers": ["a"]}\n') == formats.Format.QA_JSONL
    assert formats.detect("x.json", b'{"root": {"qapair": []}}') == formats.Format.STACKFAQ
    assert formats.detect("x.csv", b"") == formats.Format.UNSPECIFIED
    with pytest.raises(formats.ParseFailure) as caught:
        formats.parse(formats.Format.JSONL_TEXTS, "t.jsonl", b'{"content": "a"}\n{"content": \n')
    assert caught.value.line == 2
    with pytest.raises(formats.ParseFailure) as caught:
        formats.parse(formats.Format.PLAIN_TEXT, "t.txt", b"ok\n\xff\n")
    assert (caught.value.line, caught.value.code) == (2, "INVALID_UTF8")
    parsed = formats.parse(formats.Format.QA_JSON, "q.json", b'[\n{"answer": "a", "questions": ["q"]},\n'
                                                             b'{"id": 7, "answers": ["b"]}\n]')
    assert [c.line for c in parsed.clusters] == [2, 3] and parsed.clusters[1].external_id == "7"


def test_stackfaq_yields_125_clusters_and_1249_questions():
    data = open(datasets_dir() / "stackfaq.json", "rb").read()
    parsed = formats.parse(formats.detect("stackfaq.json", data), "stackfaq.json", data)
    assert len(parsed.clusters) == 125
    assert sum(len(c.questions) for c in parsed.clusters) == 1249
    assert all("*" not in c.questions for c in parsed.clusters)


def test_filters_parse_evaluate_and_name_bad_input():
    predicate = filtering.compile_filter('origin != SYNTHETIC AND (type = TEXT OR tags:"billing")',
                                         filtering.MEMBER_FIELDS)
    assert predicate({"origin": "API", "type": "TEXT"})
    assert predicate({"origin": "IMPORT", "type": "QUESTION", "tags": ["billing"]})
    assert not predicate({"origin": "SYNTHETIC", "type": "TEXT"})
    prefix = filtering.compile_filter('source = "faq*"', filtering.TEXT_FIELDS)
    assert prefix({"source": "faq/a.json"}) and not prefix({"source": "x"})
    for bad in ("colour = red", "origin = NOPE", "(type = TEXT", "word_count > many"):
        with pytest.raises(InvalidArgument):
            filtering.compile_filter(bad, {**filtering.MEMBER_FIELDS, **filtering.TEXT_FIELDS})


def _members() -> list[snap.Member]:
    key = snap.cluster_key([content_sha256("answer")])
    members = [snap.Member(f"q{i}", snap.QUESTION, content_sha256(f"q{i}"), cluster_id="c", cluster_key=key)
               for i in range(50)]
    return [snap.Member("a", snap.ANSWER, content_sha256("answer"), cluster_id="c", cluster_key=key), *members,
            snap.Member("t", snap.TEXT, content_sha256("t"), character_count=1000)]


def test_the_split_is_deterministic_seeded_and_keeps_a_question_in_training():
    rule = snap.make_split_rule(0, 0, 5, 0.5, None)
    a, b = _members(), _members()
    snap.assign_splits(a, rule)
    snap.assign_splits(b, rule)
    assert snap.member_list_hash(a) == snap.member_list_hash(b)
    assert snap.content_hash(a) == snap.content_hash(list(reversed(b)))
    c = _members()
    snap.assign_splits(c, snap.make_split_rule(0, 0, 6, 0.5, None))
    assert snap.member_list_hash(c) != snap.member_list_hash(a)
    assert a[0].split == snap.Split.TRAIN  # answers are candidates, always in training
    assert a[-1].spans == [(1, 0, 500), (2, 500, 1000)]
    all_out = snap.make_split_rule(0, 0, 0, 0.99, None)
    d = _members()
    snap.assign_splits(d, all_out)
    assert any(m.kind == snap.QUESTION and m.split == snap.Split.TRAIN for m in d)
    with pytest.raises(InvalidArgument):
        snap.make_split_rule(0, 0, 0, 0.6, 0.5)


def test_templates_fill_deterministically_and_reject_unfilled_slots():
    templates = synthetic.validate_request(["How do I {a} in {b}?", "{a} {{literal}}"],
                                           {"a": ["x", "y"], "b": ["p"]}, 5, synthetic.Quality())
    first = synthetic.generate(templates, {"a": ["x", "y"], "b": ["p"]}, 5, 1, synthetic.Quality(),
                               allow_duplicates=False, existing=set())
    again = synthetic.generate(templates, {"a": ["x", "y"], "b": ["p"]}, 5, 1, synthetic.Quality(),
                               allow_duplicates=False, existing=set())
    assert [s.content for s in first.samples] == [s.content for s in again.samples]
    assert sorted(s.content for s in first.samples) == ["How do I x in p?", "How do I y in p?", "x {literal}",
                                                        "y {literal}"]
    unfilled = synthetic.generate([synthetic.parse_template("{missing}", "t")], {}, 1, 0, synthetic.Quality(),
                                  allow_duplicates=False, existing=set())
    assert unfilled.samples == [] and unfilled.rejected_count >= 1
    with pytest.raises(InvalidArgument):
        synthetic.parse_template("{not closed", "templates[0]")
