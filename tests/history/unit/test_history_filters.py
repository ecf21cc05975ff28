"""The history filter language: typed terms, and errors that name `filter` and the position."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from lathe.kit.errors import InvalidArgument
from services.history.domain.filters import parse_filter, parse_rfc3339
from services.history.domain.lifecycle import LIFECYCLE_FILTER
from services.history.domain.sessions import SESSION_FILTER, Session


def test_terms_are_typed_and_joined_with_and():
    terms = parse_filter(
        'owner = "al\\"ice" AND start_time >= "2025-06-01T02:00:00+02:00" AND outcome != failed '
        'AND tags:poetry AND quality.avg_score > .5 AND fine_tune.triggered = TRUE', SESSION_FILTER)
    assert [(t.field, t.op) for t in terms] == [("owner", "="), ("start_time", ">="), ("outcome", "!="),
                                               ("tags", ":"), ("quality.avg_score", ">"),
                                               ("fine_tune.triggered", "=")]
    assert terms[0].value == 'al"ice'
    assert terms[1].value == datetime(2025, 6, 1, tzinfo=UTC)
    assert terms[1].value.utcoffset() == timedelta(hours=2)
    assert terms[2].value == Session.OUTCOME_FAILED
    assert terms[3].value == "poetry" and terms[4].value == 0.5 and terms[5].value is True
    assert parse_filter("   ", SESSION_FILTER) == []


@pytest.mark.parametrize(("text", "position", "words"), [
    ("colour = red", 1, "unknown field"),
    ('recipe = "a" and recipe = "b"', 14, "expected AND"),
    ('recipe = "a" OR recipe = "b"', 14, "not supported"),
    ('(recipe = "a")', 1, "parentheses"),
    ("recipe > 3", 8, "does not support '>'"),
    ("start_time < 2025-06-01", 14, "RFC 3339"),
    ('start_time < "2025-02-30T00:00:00Z"', 14, "not a valid date"),
    ("quality.avg_score >= nan", 22, "finite"),
    ("fine_tune.triggered = yes", 23, "true or false"),
    ('recipe = "a" AND', 17, "after AND"),
    ("recipe", 7, "expected an operator"),
])
def test_errors_name_the_filter_and_the_position(text, position, words):
    with pytest.raises(InvalidArgument) as caught:
        parse_filter(text, SESSION_FILTER)
    violation = caught.value.field_violations[0]
    assert violation.field == "filter"
    assert violation.description.startswith(f"at position {position}:"), violation.description
    assert words in violation.description
    assert caught.value.metadata["position"] == str(position)


def test_lifecycle_filter_and_rfc3339():
    terms = parse_filter('kind = KIND_ALIAS_MOVED AND alias = "production"', LIFECYCLE_FILTER)
    assert [t.value for t in terms] == [2, "production"]
    assert parse_rfc3339("2025-06-01T00:00:00.123456789Z") == datetime(2025, 6, 1, 0, 0, 0, 123456, tzinfo=UTC)
    assert parse_rfc3339("2025-06-01t05:30:00+05:30").astimezone(UTC) == datetime(2025, 6, 1, tzinfo=UTC)
    assert parse_rfc3339("2025-06-01T00:00:00-01:00").tzinfo == timezone(timedelta(hours=-1))
    for bad in ("2025-06-01", "yesterday", "2025-06-01T00:00:00"):
        with pytest.raises(ValueError):
            parse_rfc3339(bad)
