"""Session rules: validation, normalisation, content digests, corrections, alias assignments, CSV columns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from google.protobuf import field_mask_pb2

from lathe.history.v1 import session_event_pb2
from lathe.kit.errors import InvalidArgument
from services.history.domain import export
from services.history.domain.lifecycle import AliasMove, assignments
from services.history.domain.sessions import (
    Session,
    apply_correction,
    content_sha256,
    normalize_session,
    parse_session_name,
    session_violations,
)


def valid() -> Session:
    s = Session(recipe="causal-lm", outcome=Session.OUTCOME_SUCCEEDED)
    s.start_time.FromDatetime(datetime(2025, 6, 1, tzinfo=UTC))
    s.end_time.FromDatetime(datetime(2025, 6, 1, 0, 30, tzinfo=UTC))
    return s


def test_a_valid_session_has_no_violations_and_every_rule_names_its_field():
    assert session_violations(valid()) == []
    s = valid()
    s.recipe = "Causal LM"
    s.tag_counts["x" * 64] = 1
    s.metrics["bad name!"] = 1.0
    s.model_performances.add(model="a")
    s.model_performances.add(model="a", wins=-1)
    s.storage_choices.add(artifact="examples", mode=Session.StorageChoice.MODE_IN_MEMORY, uri="file:///x")
    s.quality.CopyFrom(Session.Quality(min_score=0.1, avg_score=0.2, max_score=0.3, sample_count=0))
    s.fine_tune.training_job = "trainingJobs/x"
    s.model_version = "versions/3"
    fields = {v.field for v in session_violations(s)}
    assert fields == {
        "session.recipe", "session.tag_counts['" + "x" * 64 + "']", "session.metrics['bad name!']",
        "session.model_performances[1].model", "session.model_performances[1].wins",
        "session.storage_choices[0].uri", "session.quality.sample_count", "session.fine_tune.training_job",
        "session.model_version",
    }


def test_normalisation_defaults_duration_and_the_digest_ignores_map_order():
    s = valid()
    s.name = "sessions/ignored"
    s.revision = 7
    record = normalize_session(s, owner="alice")
    assert record.duration.ToTimedelta() == timedelta(minutes=30)
    assert record.owner == "alice" and not record.name and record.revision == 0
    a, b = valid(), valid()
    for key in ("x", "y", "z"):
        a.tag_counts[key] = 1
    for key in ("z", "y", "x"):
        b.tag_counts[key] = 1
    assert content_sha256(normalize_session(a, owner="u")) == content_sha256(normalize_session(b, owner="u"))
    b.tag_counts["z"] = 2
    assert content_sha256(normalize_session(a, owner="u")) != content_sha256(normalize_session(b, owner="u"))


def test_a_correction_replaces_only_the_masked_fields_and_is_validated():
    current = normalize_session(valid(), owner="alice")
    current.metrics["loss"] = 2.0
    correction = session_event_pb2.SessionEvent.Correction(
        session=Session(recipe="ignored", metrics={"loss": 1.0}),
        update_mask=field_mask_pb2.FieldMask(paths=["metrics"]), reason="typo")
    corrected = apply_correction(current, correction)
    assert dict(corrected.metrics) == {"loss": 1.0} and corrected.recipe == "causal-lm"
    correction.update_mask.paths[:] = ["end_time"]
    with pytest.raises(InvalidArgument) as caught:
        apply_correction(current, correction)  # an unset end_time is a missing required field
    assert caught.value.field_violations[0].field == "session_event.correction.session.end_time"


def test_session_names_must_hold_a_v4_uuid():
    assert parse_session_name("sessions/0b5e4f4e-8d3a-4c1e-9f3a-2b8c7d6e5f4a") == \
        "0b5e4f4e-8d3a-4c1e-9f3a-2b8c7d6e5f4a"
    for bad in ("sessions/0B5E4F4E-8D3A-4C1E-9F3A-2B8C7D6E5F4A", "session/x", "sessions/1/events/2"):
        with pytest.raises(InvalidArgument):
            parse_session_name(bad)


def test_alias_assignments_end_where_the_next_move_begins():
    t = datetime(2025, 1, 1, tzinfo=UTC)
    moves = [AliasMove("e4", t + timedelta(days=4), "v3", "a"), AliasMove("e3", t + timedelta(days=3), "", "a"),
             AliasMove("e2", t + timedelta(days=2), "v2", "b"), AliasMove("e1", t, "v1", "a")]
    result = assignments(moves, None)
    assert [(a.model_version, a.start.event_id, a.end.event_id if a.end else None) for a in result] == [
        ("v3", "e4", None), ("v2", "e2", "e3"), ("v1", "e1", "e2")]


def test_csv_columns_follow_field_numbers_and_flatten_nested_messages():
    assert export.HEADER[:6] == ["name", "owner", "training_job", "model_version", "snapshot", "recipe"]
    assert "quality.avg_score" in export.HEADER and "example_counts.requested" in export.HEADER
    assert export.HEADER[-3:] == ["create_time", "update_time", "revision"]
    row = export.csv_row(normalize_session(valid(), owner='o,"x"')).decode()
    assert row.startswith(',"o,""x""",') and row.endswith("\r\n")
