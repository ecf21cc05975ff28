"""Sessions through the real history server and stub, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import timedelta

import grpc
import pytest
from google.protobuf import field_mask_pb2
from history_helpers import BASE_TIME, Session, full_session, make_session, record_many, without_output

from lathe.history.v1 import history_service_pb2 as hs
from lathe.history.v1 import session_event_pb2
from lathe.kit.errors import from_rpc_error

SessionEvent = session_event_pb2.SessionEvent


async def rpc_error(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


async def walk(stub, request: hs.ListSessionsRequest) -> list[Session]:
    seen, token = [], ""
    while True:
        request.page_token = token
        page = await stub.ListSessions(request)
        seen += page.sessions
        token = page.next_page_token
        if not token:
            return seen


async def test_recorded_session_reads_back_field_for_field(history):
    stub = history()
    sent = full_session()
    recorded = await stub.RecordSession(hs.RecordSessionRequest(session=sent))
    assert recorded.name.startswith("sessions/") and len(recorded.name) == len("sessions/") + 36
    assert recorded.revision == 1 and recorded.create_time == recorded.update_time
    fetched = await stub.GetSession(hs.GetSessionRequest(name=recorded.name))
    assert fetched == recorded
    assert without_output(fetched) == sent
    assert dict(fetched.config)["nested"]["a"] == [1, 2]
    # A user recording without an owner owns the session; an unset duration becomes end - start.
    bare = make_session(1)
    bare.ClearField("duration")
    second = await stub.RecordSession(hs.RecordSessionRequest(session=bare))
    assert second.owner == "alice"
    assert second.duration.ToTimedelta() == timedelta(minutes=10)


async def test_the_same_record_delivered_twice_is_stored_once(history, tokens):
    trainer = history(tokens.service)
    session_id = str(uuid.uuid4())
    request = hs.RecordSessionRequest(session=make_session(owner="alice"), session_id=session_id)
    # The outbox may deliver twice, even at the same time: exactly one session, every delivery answered with it.
    results = await asyncio.gather(*(trainer.RecordSession(request) for _ in range(6)), return_exceptions=True)
    stored = [r for r in results if isinstance(r, Session)]
    assert stored and all(r == stored[0] for r in stored)
    assert all(r.code() == grpc.StatusCode.ABORTED for r in results if not isinstance(r, Session))
    assert stored[0].name == f"sessions/{session_id}" and stored[0].owner == "alice"
    assert await trainer.RecordSession(request) == stored[0]
    listed = await history(tokens.admin).ListSessions(hs.ListSessionsRequest())
    assert [s.name for s in listed.sessions] == [stored[0].name]
    # Different content under the same id is a clash, not an overwrite.
    clash = hs.RecordSessionRequest(session=make_session(owner="alice", recipe="ngram-lm"), session_id=session_id)
    error = await rpc_error(trainer.RecordSession(clash))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert (await trainer.GetSession(hs.GetSessionRequest(name=stored[0].name))).recipe == "causal-lm"
    # request_id idempotency without a session id: the retry returns the first session.
    by_request = hs.RecordSessionRequest(session=make_session(2, owner="alice"), request_id=str(uuid.uuid4()))
    first = await trainer.RecordSession(by_request)
    assert await trainer.RecordSession(by_request) == first
    by_request.session.recipe = "ngram-lm"
    error = await rpc_error(trainer.RecordSession(by_request))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert from_rpc_error(error).reason == "REQUEST_ID_REUSED"
    listed = await history(tokens.admin).ListSessions(hs.ListSessionsRequest())
    assert len(listed.sessions) == 2


async def test_pages_walk_1000_sessions_exactly_once_in_order_during_inserts(history, tokens):
    trainer = history(tokens.service)
    rng = random.Random(5)
    originals = await record_many(trainer, [
        make_session(start=BASE_TIME + timedelta(seconds=rng.randrange(0, 86_400 * 30)), owner="alice",
                     quality=rng.choice([None, round(rng.random(), 3)]), minutes=rng.randrange(1, 500))
        for _ in range(1000)
    ])
    # Same start times for a few sessions: ties must be broken by name, never lost or repeated.
    originals += await record_many(trainer, [make_session(start=BASE_TIME, owner="alice") for _ in range(5)])
    alice = history(tokens.alice)
    for order_by in ("", "duration", "quality.avg_score desc"):
        seen, token, inserted = [], "", 0
        while True:
            page, _ = await asyncio.gather(
                alice.ListSessions(hs.ListSessionsRequest(page_size=97, page_token=token, order_by=order_by)),
                trainer.RecordSession(hs.RecordSessionRequest(session=make_session(
                    start=BASE_TIME + timedelta(seconds=rng.randrange(0, 86_400 * 30)), owner="alice",
                    quality=round(rng.random(), 3), minutes=rng.randrange(1, 500)))),
            )
            inserted += 1
            seen += page.sessions
            token = page.next_page_token
            if not token:
                break
        names = [s.name for s in seen]
        assert len(names) == len(set(names)), "a session appeared twice"
        original_names = {s.name for s in originals}
        assert original_names <= set(names), "a session recorded before the walk was skipped"
        if order_by == "":
            keys = [(s.start_time.ToNanoseconds(), s.name) for s in seen]
            assert keys == sorted(keys, reverse=True)
        elif order_by == "duration":
            keys = [(s.duration.ToNanoseconds(), s.name) for s in seen]
            assert keys == sorted(keys)
        else:
            keys = [(not s.HasField("quality"), -s.quality.avg_score, tuple(-ord(ch) for ch in s.name)) for s in seen]
            assert keys == sorted(keys)
        assert inserted > 10


async def test_every_filter_narrows_correctly(history, tokens):
    trainer = history(tokens.service)
    specs = [
        dict(owner="alice", recipe="causal-lm", quality=0.9, tags={"poetry": 2}),
        dict(owner="alice", recipe="ngram-lm", quality=None, tags={"news": 1}, outcome=Session.OUTCOME_FAILED),
        dict(owner="alice", recipe="causal-lm", quality=0.3, tags={}, outcome=Session.OUTCOME_CANCELLED),
        dict(owner="bob", recipe="embedding-finetune", quality=0.7, tags={"poetry": 1, "news": 1}, triggered=True),
        dict(owner="bob", recipe="causal-lm", quality=0.5, tags={"code": 5}),
        dict(owner="alice", recipe="projection-heads", quality=0.8, tags={"poetry": 9}, triggered=True),
    ]
    recorded = await record_many(trainer, [make_session(i * 24, **spec) for i, spec in enumerate(specs)])
    by_name = {s.name: s for s in recorded}
    admin = history(tokens.admin)

    def names(predicate) -> set[str]:
        return {s.name for s in recorded if predicate(s)}

    cut = BASE_TIME + timedelta(hours=48)
    cases = {
        'owner = "bob"': lambda s: s.owner == "bob",
        'recipe = "causal-lm"': lambda s: s.recipe == "causal-lm",
        'recipe != "causal-lm"': lambda s: s.recipe != "causal-lm",
        "outcome = FAILED": lambda s: s.outcome == Session.OUTCOME_FAILED,
        "outcome != OUTCOME_SUCCEEDED": lambda s: s.outcome != Session.OUTCOME_SUCCEEDED,
        'tags:"poetry"': lambda s: "poetry" in s.tag_counts,
        "quality.avg_score >= 0.7": lambda s: s.HasField("quality") and s.quality.avg_score >= 0.7,
        "quality.avg_score != 0.5": lambda s: s.HasField("quality") and s.quality.avg_score != 0.5,
        "quality.min_score < 0.5": lambda s: s.HasField("quality") and s.quality.min_score < 0.5,
        "quality.max_score > 0.85": lambda s: s.HasField("quality") and s.quality.max_score > 0.85,
        "fine_tune.triggered = true": lambda s: s.fine_tune.triggered,
        f'start_time >= "{cut.isoformat()}"': lambda s: s.start_time.ToDatetime(tzinfo=cut.tzinfo) >= cut,
        # The same instant written with another offset selects the same sessions.
        'start_time < "2025-06-03T14:00:00+02:00"': lambda s: s.start_time.ToDatetime(tzinfo=cut.tzinfo) < cut,
        f'end_time > "{cut.isoformat()}" AND end_time <= "{(cut + timedelta(days=2)).isoformat()}"':
            lambda s: cut < s.end_time.ToDatetime(tzinfo=cut.tzinfo) <= cut + timedelta(days=2),
        'training_job = "trainingJobs/job-24"': lambda s: s.training_job == "trainingJobs/job-24",
        'snapshot = "snapshots/snap-1"': lambda s: True,
        'owner = "alice" AND tags:"poetry" AND quality.avg_score > 0.85':
            lambda s: s.owner == "alice" and "poetry" in s.tag_counts and s.quality.avg_score > 0.85,
    }
    for text, predicate in cases.items():
        expected = names(predicate)
        got = {s.name for s in await walk(admin, hs.ListSessionsRequest(filter=text, page_size=2))}
        assert got == expected, text
        assert expected != set(by_name) or text.startswith("snapshot"), f"{text} should narrow the test data"
        exported = admin.ExportSessions(hs.ExportSessionsRequest(format=hs.EXPORT_FORMAT_JSONL, filter=text))
        assert sum([chunk.row_count async for chunk in exported]) == len(expected), text
    # A user's filter applies within their own sessions.
    alice_poetry = await walk(history(tokens.alice), hs.ListSessionsRequest(filter='tags:"poetry"'))
    assert {s.name for s in alice_poetry} == names(lambda s: s.owner == "alice" and "poetry" in s.tag_counts)


async def test_users_see_only_their_own_sessions_and_admins_see_all(history, tokens):
    alice, bob, admin = history(tokens.alice), history(tokens.bob), history(tokens.admin)
    a = await alice.RecordSession(hs.RecordSessionRequest(session=make_session(0)))
    b = await bob.RecordSession(hs.RecordSessionRequest(session=make_session(1)))
    error = await rpc_error(alice.GetSession(hs.GetSessionRequest(name=b.name)))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    missing = await rpc_error(alice.GetSession(hs.GetSessionRequest(name=f"sessions/{uuid.uuid4()}")))
    assert from_rpc_error(error).reason == from_rpc_error(missing).reason  # existence is not revealed
    error = await rpc_error(alice.AppendSessionEvent(hs.AppendSessionEventRequest(
        parent=b.name, session_event=SessionEvent(annotation=SessionEvent.Annotation(text="mine now")))))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert [s.name for s in (await alice.ListSessions(hs.ListSessionsRequest())).sessions] == [a.name]
    assert [s.name for s in (await alice.RecentSessions(hs.RecentSessionsRequest())).sessions] == [a.name]
    assert {s.name for s in (await admin.ListSessions(hs.ListSessionsRequest())).sessions} == {a.name, b.name}
    assert (await admin.GetSession(hs.GetSessionRequest(name=b.name))) == b
    recent = await admin.RecentSessions(hs.RecentSessionsRequest(owner="bob", limit=5))
    assert [s.name for s in recent.sessions] == [b.name]
    assert (await alice.GetStats(hs.GetStatsRequest())).total_sessions == 1
    assert (await admin.GetStats(hs.GetStatsRequest())).total_sessions == 2
    csv_rows = b"".join([c.data async for c in alice.ExportSessions(
        hs.ExportSessionsRequest(format=hs.EXPORT_FORMAT_CSV))]).decode()
    assert a.name in csv_rows and b.name not in csv_rows
    for call in (
        alice.ListSessions(hs.ListSessionsRequest(filter='owner = "bob"')),
        alice.GetStats(hs.GetStatsRequest(owner="bob")),
        alice.RecentSessions(hs.RecentSessionsRequest(owner="bob")),
        alice.RecordSession(hs.RecordSessionRequest(session=make_session(owner="bob"))),
    ):
        assert (await rpc_error(call)).code() == grpc.StatusCode.PERMISSION_DENIED
    # A read-only token reads its own (none) and cannot record; a service must name the owner.
    viewer = history(tokens.viewer)
    assert not (await viewer.ListSessions(hs.ListSessionsRequest())).sessions
    assert (await rpc_error(viewer.RecordSession(hs.RecordSessionRequest(session=make_session())))).code() == \
        grpc.StatusCode.PERMISSION_DENIED
    error = await rpc_error(history(tokens.service).RecordSession(hs.RecordSessionRequest(session=make_session())))
    assert [v.field for v in from_rpc_error(error).field_violations] == ["session.owner"]


async def test_stats_equal_a_brute_force_computation(history, tokens):
    trainer = history(tokens.service)
    rng = random.Random(11)
    recipes = ["causal-lm", "ngram-lm", "embedding-finetune"]
    sessions = []
    for _ in range(60):
        outcome = rng.choice([Session.OUTCOME_SUCCEEDED, Session.OUTCOME_FAILED, Session.OUTCOME_CANCELLED])
        sessions.append(make_session(
            start=BASE_TIME + timedelta(minutes=rng.randrange(0, 60 * 24 * 6)), owner=rng.choice(["alice", "bob"]),
            recipe=rng.choice(recipes), minutes=rng.randrange(1, 300), outcome=outcome,
            quality=rng.choice([None, round(rng.random(), 4)]), triggered=rng.random() < 0.3,
            saved=rng.choice([0, 0, rng.randrange(1, 50)]), generated=rng.randrange(0, 1000),
        ))
    recorded = await record_many(trainer, sessions)

    def brute(rows: list[Session], zone: str) -> dict:
        from zoneinfo import ZoneInfo

        qualities = [s.quality.avg_score for s in rows if s.HasField("quality")]
        by_recipe: dict[str, list[int]] = {}
        by_day: dict[str, list[int]] = {}
        for s in rows:
            nanos = s.duration.ToNanoseconds()
            entry = by_recipe.setdefault(s.recipe, [0, 0])
            entry[0] += 1
            entry[1] += nanos
            day = s.start_time.ToDatetime(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(zone)).date().isoformat()
            entry = by_day.setdefault(day, [0, 0])
            entry[0] += 1
            entry[1] += nanos
        return dict(
            total=len(rows),
            outcomes=[sum(s.outcome == o for s in rows) for o in (1, 2, 3)],
            generated=sum(s.example_counts.succeeded for s in rows),
            saved=sum(c.example_count for s in rows for c in s.storage_choices if c.mode == c.MODE_SAVED),
            tokens=sum(s.token_counts.succeeded for s in rows),
            avg_quality=sum(qualities) / len(qualities) if qualities else 0.0,
            quality_count=len(qualities),
            time=sum(s.duration.ToNanoseconds() for s in rows),
            triggered=sum(s.fine_tune.triggered for s in rows),
            by_recipe=sorted(((r, c, n) for r, (c, n) in by_recipe.items()), key=lambda t: (-t[2], t[0])),
            by_day=sorted((d, c, n) for d, (c, n) in by_day.items()),
        )

    def observed(stats: hs.GetStatsResponse) -> dict:
        return dict(
            total=stats.total_sessions,
            outcomes=[stats.succeeded_sessions, stats.failed_sessions, stats.cancelled_sessions],
            generated=stats.total_examples_generated, saved=stats.total_examples_saved,
            tokens=stats.total_tokens_generated, avg_quality=pytest.approx(stats.avg_quality, rel=1e-9, abs=1e-12),
            quality_count=stats.quality_session_count, time=stats.total_training_time.ToNanoseconds(),
            triggered=stats.fine_tune_triggered_sessions,
            by_recipe=[(r.recipe, r.usage.session_count, r.usage.compute_time.ToNanoseconds())
                       for r in stats.compute_by_recipe],
            by_day=[(d.date, d.usage.session_count, d.usage.compute_time.ToNanoseconds())
                    for d in stats.compute_by_day],
        )

    window_start, window_end = BASE_TIME + timedelta(days=1), BASE_TIME + timedelta(days=4, hours=7)
    in_window = [s for s in recorded
                 if window_start <= s.start_time.ToDatetime(tzinfo=BASE_TIME.tzinfo) < window_end]
    request = hs.GetStatsRequest(owner="alice", time_zone="America/New_York")
    request.start_time.FromDatetime(window_start)
    request.end_time.FromDatetime(window_end)
    checks = [
        (tokens.alice, hs.GetStatsRequest(), [s for s in recorded if s.owner == "alice"], "UTC"),
        (tokens.admin, hs.GetStatsRequest(), recorded, "UTC"),
        (tokens.admin, hs.GetStatsRequest(owner="bob", time_zone="Asia/Kolkata"),
         [s for s in recorded if s.owner == "bob"], "Asia/Kolkata"),
        (tokens.alice, request, [s for s in in_window if s.owner == "alice"], "America/New_York"),
    ]
    for token, stats_request, rows, zone in checks:
        assert observed(await history(token).GetStats(stats_request)) == brute(rows, zone)
    empty = await history(tokens.viewer).GetStats(hs.GetStatsRequest())
    assert empty.total_sessions == 0 and empty.avg_quality == 0.0 and not empty.compute_by_day


async def test_corrections_are_new_events_and_earlier_revisions_stay_readable(history, tokens):
    alice = history(tokens.alice)
    recorded = await alice.RecordSession(hs.RecordSessionRequest(session=make_session(quality=0.4)))
    note = await alice.AppendSessionEvent(hs.AppendSessionEventRequest(
        parent=recorded.name, session_event=SessionEvent(annotation=SessionEvent.Annotation(text="scorer v1 bug"))))
    assert note.sequence == 1 and note.kind == SessionEvent.KIND_ANNOTATION and note.actor == "alice"
    fixed = Session(quality=Session.Quality(min_score=0.7, avg_score=0.8, max_score=0.9, sample_count=12),
                    metrics={"val_loss": 0.5})
    correction = SessionEvent(correction=SessionEvent.Correction(
        session=fixed, update_mask=field_mask_pb2.FieldMask(paths=["quality", "metrics"]), reason="rescored"))
    request = hs.AppendSessionEventRequest(parent=recorded.name, session_event=correction, expected_revision=1,
                                           request_id=str(uuid.uuid4()))
    event = await alice.AppendSessionEvent(request)
    assert event.sequence == 2 and event.correction.revision == 2
    assert await alice.AppendSessionEvent(request) == event  # a retry appends nothing
    current = await alice.GetSession(hs.GetSessionRequest(name=recorded.name))
    assert current.revision == 2 and current.quality.avg_score == 0.8 and dict(current.metrics) == {"val_loss": 0.5}
    assert current.recipe == recorded.recipe and current.update_time.ToNanoseconds() > 0
    original = await alice.GetSession(hs.GetSessionRequest(name=recorded.name, revision=1))
    assert original == recorded
    # Lists, filters and stats read the corrected values.
    assert [s.name for s in (await alice.ListSessions(
        hs.ListSessionsRequest(filter="quality.avg_score > 0.75"))).sessions] == [recorded.name]
    assert (await alice.GetStats(hs.GetStatsRequest())).avg_quality == pytest.approx(0.8)
    stale = hs.AppendSessionEventRequest(parent=recorded.name, session_event=correction, expected_revision=1)
    assert (await rpc_error(alice.AppendSessionEvent(stale))).code() == grpc.StatusCode.ABORTED
    error = await rpc_error(alice.GetSession(hs.GetSessionRequest(name=recorded.name, revision=3)))
    assert error.code() == grpc.StatusCode.OUT_OF_RANGE
    for paths, field in ((["owner"], "session_event.correction.update_mask"),
                         (["nonsense"], "session_event.correction.update_mask"),
                         ([], "session_event.correction.update_mask")):
        bad = SessionEvent(correction=SessionEvent.Correction(
            session=Session(owner="bob"), update_mask=field_mask_pb2.FieldMask(paths=paths), reason="x"))
        error = await rpc_error(alice.AppendSessionEvent(hs.AppendSessionEventRequest(parent=recorded.name,
                                                                                      session_event=bad)))
        assert [v.field for v in from_rpc_error(error).field_violations] == [field]
    # A correction that breaks a rule RecordSession checks is refused, and changes nothing.
    broken = SessionEvent(correction=SessionEvent.Correction(
        session=Session(outcome=Session.OUTCOME_FAILED), update_mask=field_mask_pb2.FieldMask(paths=["outcome"]),
        reason="it failed"))
    error = await rpc_error(alice.AppendSessionEvent(hs.AppendSessionEventRequest(parent=recorded.name,
                                                                                  session_event=broken)))
    assert [v.field for v in from_rpc_error(error).field_violations] == ["session_event.correction.session.error"]
    events = await alice.ListSessionEvents(hs.ListSessionEventsRequest(parent=recorded.name))
    assert [e.sequence for e in events.session_events] == [1, 2]
    corrections = await alice.ListSessionEvents(hs.ListSessionEventsRequest(
        parent=recorded.name, filter="kind = CORRECTION", order_by="sequence desc"))
    assert [e.sequence for e in corrections.session_events] == [2]
    first = await alice.ListSessionEvents(hs.ListSessionEventsRequest(parent=recorded.name, page_size=1))
    second = await alice.ListSessionEvents(hs.ListSessionEventsRequest(parent=recorded.name, page_size=1,
                                                                       page_token=first.next_page_token))
    assert [e.sequence for e in second.session_events] == [2] and not second.next_page_token


async def test_invalid_input_is_invalid_argument_naming_the_field(history):
    stub = history()

    async def field_of(call) -> tuple[str, str]:
        error = await rpc_error(call)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
        violation = from_rpc_error(error).field_violations[0]
        return violation.field, violation.description

    for text, position in (('recipe = "x" AND colour = "red"', 18), ('start_time >= "yesterday"', 15),
                           ('start_time >= "2025-13-01T00:00:00Z"', 15), ('recipe = "x" OR recipe = "y"', 14),
                           ("outcome = MAYBE", 11), ("quality.avg_score >= high", 22), ('tags = "poetry"', 6),
                           ('recipe = "unterminated', 10), ("recipe =", 9)):
        field, description = await field_of(stub.ListSessions(hs.ListSessionsRequest(filter=text)))
        assert field == "filter" and f"position {position}:" in description, (text, description)
    assert (await field_of(stub.ListSessions(hs.ListSessionsRequest(page_token="garbage"))))[0] == "page_token"
    assert (await field_of(stub.ListSessions(hs.ListSessionsRequest(order_by="owner"))))[0] == "order_by"
    assert (await field_of(stub.ListSessions(hs.ListSessionsRequest(page_size=-1))))[0] == "page_size"
    await stub.RecordSession(hs.RecordSessionRequest(session=make_session(0)))
    await stub.RecordSession(hs.RecordSessionRequest(session=make_session(1)))
    page = await stub.ListSessions(hs.ListSessionsRequest(page_size=1))
    error = await rpc_error(stub.ListSessions(hs.ListSessionsRequest(page_size=1, page_token=page.next_page_token,
                                                                     order_by="duration")))
    assert from_rpc_error(error).reason == "PAGE_TOKEN_MISMATCH"
    assert (await field_of(stub.ExportSessions(hs.ExportSessionsRequest(
        format=hs.EXPORT_FORMAT_CSV, resume_token="nope")).read()))[0] == "resume_token"
    assert (await field_of(stub.ExportSessions(hs.ExportSessionsRequest()).read()))[0] == "format"
    later = hs.GetStatsRequest()
    later.start_time.FromDatetime(BASE_TIME)
    later.end_time.FromDatetime(BASE_TIME - timedelta(days=1))
    assert (await field_of(stub.GetStats(later)))[0] == "end_time"
    assert (await field_of(stub.GetStats(hs.GetStatsRequest(time_zone="Mars/Olympus"))))[0] == "time_zone"
    bad_time = hs.GetStatsRequest()
    bad_time.start_time.seconds = -10**12
    assert (await field_of(stub.GetStats(bad_time)))[0] == "start_time"
    assert (await field_of(stub.GetSession(hs.GetSessionRequest(name="sessions/123"))))[0] == "name"
    assert (await field_of(stub.RecentSessions(hs.RecentSessionsRequest(limit=101))))[0] == "limit"
    backwards = make_session()
    backwards.end_time.FromDatetime(BASE_TIME - timedelta(hours=1))
    bad_quality = make_session()
    bad_quality.quality.avg_score = 2.0
    stranger = make_session()
    stranger.best_model = "models/x/versions/1"
    failed_without_error = make_session(outcome=Session.OUTCOME_FAILED)
    failed_without_error.ClearField("error")
    negative = make_session()
    negative.example_counts.failed = -1
    for session, field in ((backwards, "session.end_time"), (bad_quality, "session.quality"),
                           (stranger, "session.best_model"), (failed_without_error, "session.error"),
                           (negative, "session.example_counts.failed"), (Session(), "session.recipe")):
        assert (await field_of(stub.RecordSession(hs.RecordSessionRequest(session=session))))[0] == field
    assert (await field_of(stub.RecordSession(hs.RecordSessionRequest(session=make_session(),
                                                                      session_id="not-a-uuid"))))[0] == "session_id"
    assert len((await stub.ListSessions(hs.ListSessionsRequest())).sessions) == 2  # nothing half-written
