"""The HistoryService servicer: proto ⇄ domain for sessions, session events and lifecycle events."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import grpc
from google.protobuf import timestamp_pb2
from google.protobuf.message import Message
from sqlalchemy.exc import IntegrityError

from lathe.history.v1 import (
    history_service_pb2 as hs,
)
from lathe.history.v1 import (
    history_service_pb2_grpc,
    lifecycle_event_pb2,
    session_event_pb2,
    session_pb2,
)
from lathe.kit.auth import ROLE_READER, ROLE_WRITER, Principal, current_principal
from lathe.kit.db import Database
from lathe.kit.errors import Aborted, AlreadyExists, InvalidArgument, NotFound, OutOfRange, PermissionDenied
from lathe.kit.idempotency import RequestLog, request_digest, validate_request_id
from lathe.kit.keyset import SortKey, canonical, parse_order_by
from lathe.kit.pagination import PageTokenCodec, page_size
from services.history.adapters.lifecycle_repository import LifecycleRepository, StoredLifecycleEvent
from services.history.adapters.sessions_repository import (
    SessionRepository,
    StoredSession,
    decode_key,
    encode_key,
    sort_keys,
    stats_conditions,
)
from services.history.adapters.tables import request_log
from services.history.domain import export, lifecycle
from services.history.domain.filters import Term, parse_filter
from services.history.domain.sessions import (
    DEFAULT_SESSION_ORDER,
    SESSION_EVENT_FILTER,
    SESSION_FILTER,
    SESSION_ORDERINGS,
    apply_correction,
    content_sha256,
    new_session_id,
    normalize_session,
    parse_session_name,
    project,
    raise_violations,
    session_name,
    session_violations,
    to_datetime,
    validate_event,
    validate_time_zone,
    validate_uuid4,
)

Session = session_pb2.Session
SessionEvent = session_event_pb2.SessionEvent
LifecycleEvent = lifecycle_event_pb2.LifecycleEvent
T = TypeVar("T", bound=Message)

RECORD_SESSION = "/lathe.history.v1.HistoryService/RecordSession"
APPEND_SESSION_EVENT = "/lathe.history.v1.HistoryService/AppendSessionEvent"
RECORD_LIFECYCLE_EVENT = "/lathe.history.v1.HistoryService/RecordLifecycleEvent"
EXPORT_BATCH = 500
MAX_SESSION_PAGE = 500
MAX_EVENT_PAGE = 1000
MAX_LIFECYCLE_PAGE = 500
MAX_RECENT = 100


def _timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value)
    return ts


def session_to_proto(stored: StoredSession) -> Session:
    """The public form of a stored session at its current revision."""
    message = Session.FromString(stored.current)
    message.name = stored.name
    message.create_time.CopyFrom(_timestamp(stored.create_time))
    message.update_time.CopyFrom(_timestamp(stored.update_time))
    message.revision = stored.revision
    return message


def lifecycle_to_proto(stored: StoredLifecycleEvent) -> LifecycleEvent:
    """The public form of a stored lifecycle event."""
    message = LifecycleEvent.FromString(stored.payload)
    message.name = f"lifecycleEvents/{stored.event_id}"
    message.kind = lifecycle.KIND_OF_CASE[message.WhichOneof("payload") or ""]
    message.create_time.CopyFrom(_timestamp(stored.create_time))
    message.source = stored.source
    return message


def sees_everyone(principal: Principal) -> bool:
    """Admins read every user's sessions; services read them on users' behalf."""
    return principal.is_admin or principal.is_service


def owner_scope(principal: Principal, owner: str = "", terms: list[Term] | None = None) -> str | None:
    """The owner a read is restricted to (None: everyone); PERMISSION_DENIED for someone else's, unless admin."""
    named = [owner] if owner else []
    named += [t.value for t in terms or () if t.field == "owner"]
    if not sees_everyone(principal):
        for name in named:
            if name != principal.user_id:
                raise PermissionDenied(f"{principal.user_id!r} may read only their own sessions, not {name!r}'s",
                                       reason="OWNER_NOT_ALLOWED", metadata={"owner": name})
        return principal.user_id
    return owner or None


class HistoryServicer(history_service_pb2_grpc.HistoryServiceServicer):
    """Serves ``lathe.history.v1.HistoryService`` from the history database."""

    def __init__(self, db: Database, *, page_tokens: PageTokenCodec | None = None,
                 export_chunk_bytes: int = 1024 * 1024) -> None:
        self._db = db
        self._sessions = SessionRepository(db.dialect)
        self._lifecycle = LifecycleRepository()
        self._requests = RequestLog(request_log)
        self._tokens = page_tokens or PageTokenCodec()
        self._chunk_bytes = export_chunk_bytes

    async def _idempotent(self, method: str, principal: Principal, request: Message, response_type: type[T],
                          body: Callable[[Any], Awaitable[T]]) -> T:
        """Run ``body(session)`` once per ``request.request_id``; a retry returns the first response.

        A concurrent twin that loses the race on a primary key is retried once, then sees the winner.
        """
        request_id: str = request.request_id  # type: ignore[attr-defined]
        digest = request_digest(request)
        for attempt in range(2):
            try:
                async with self._db.sessions.begin() as session:
                    if request_id:
                        first = await self._requests.find(session, method=method, principal=principal.user_id,
                                                          request_id=request_id, digest=digest,
                                                          response_type=response_type)
                        if first is not None:
                            return first  # type: ignore[return-value]
                    response = await body(session)
                    if request_id:
                        await self._requests.remember(session, method=method, principal=principal.user_id,
                                                      request_id=request_id, digest=digest, response=response)
                    return response
            except IntegrityError:
                if attempt == 1:
                    raise Aborted("a concurrent request wrote the same record; retry",
                                  reason="CONCURRENT_WRITE") from None
        raise AssertionError("unreachable")

    # Sessions

    async def RecordSession(self, request: hs.RecordSessionRequest, context: grpc.aio.ServicerContext) -> Session:
        principal = current_principal()
        principal.require_role(ROLE_WRITER)
        if not request.HasField("session"):
            raise InvalidArgument.for_field("session", "is required")
        session_id = validate_uuid4(request.session_id, "session_id") if request.session_id else ""
        validate_request_id(request.request_id)
        owner = request.session.owner
        if not owner:
            if principal.is_service:
                raise InvalidArgument.for_field("session.owner", "is required when a service records a session")
            owner = principal.user_id
        elif owner != principal.user_id and not sees_everyone(principal):
            raise PermissionDenied(f"{principal.user_id!r} may record only their own sessions, not {owner!r}'s",
                                   reason="OWNER_NOT_ALLOWED", metadata={"owner": owner})
        raise_violations(session_violations(request.session))
        record = normalize_session(request.session, owner=owner)
        blob = record.SerializeToString(deterministic=True)
        digest = content_sha256(record)
        # A record without an id gets one now, so a retry of this call (same request_id) reuses nothing else.
        sid = session_id or new_session_id()

        async def body(session: Any) -> Session:
            if session_id:
                existing = await self._sessions.find(session, session_id)
                if existing is not None:
                    if existing.content_sha256 == digest:
                        return session_to_proto(existing)
                    raise AlreadyExists(
                        f"session '{session_name(session_id)}' exists with different content; correct it with "
                        "AppendSessionEvent", reason="SESSION_ALREADY_EXISTS",
                        metadata={"name": session_name(session_id)},
                    )
            stored = await self._sessions.insert(session, sid, record=blob, digest=digest,
                                                 projection=project(record), now=datetime.now(UTC))
            return session_to_proto(stored)

        return await self._idempotent(RECORD_SESSION, principal, request, Session, body)

    async def GetSession(self, request: hs.GetSessionRequest, context: grpc.aio.ServicerContext) -> Session:
        principal = current_principal()
        principal.require_role(ROLE_READER)
        session_id = parse_session_name(request.name)
        if request.revision < 0:
            raise InvalidArgument.for_field("revision", f"must not be negative (got {request.revision})")
        async with self._db.sessions() as session:
            stored = await self._sessions.get(session, session_id, visible_to=owner_scope(principal))
            if request.revision == 0 or request.revision == stored.revision:
                return session_to_proto(stored)
            if request.revision > stored.revision:
                raise OutOfRange(f"session '{stored.name}' is at revision {stored.revision}; revision "
                                 f"{request.revision} does not exist yet", reason="REVISION_OUT_OF_RANGE",
                                 metadata={"revision": str(stored.revision)})
            corrections = await self._sessions.corrections(session, session_id, request.revision)
        view = Session.FromString(stored.record)
        update_time = _timestamp(stored.create_time)
        for event in corrections:
            applied = SessionEvent.FromString(event.payload)
            view = apply_correction(view, applied.correction)
            update_time = applied.event_time
        view.name = stored.name
        view.create_time.CopyFrom(_timestamp(stored.create_time))
        view.update_time.CopyFrom(update_time)
        view.revision = request.revision
        return view

    def _session_order(self, order_by: str) -> tuple[list[SortKey], str]:
        order = parse_order_by(order_by, SESSION_ORDERINGS, default=DEFAULT_SESSION_ORDER)
        if len(order) > 1:
            raise InvalidArgument.for_field("order_by", "accepts one field: " + ", ".join(SESSION_ORDERINGS))
        return sort_keys(order[0].field, order[0].descending), canonical(order)

    async def ListSessions(self, request: hs.ListSessionsRequest,
                           context: grpc.aio.ServicerContext) -> hs.ListSessionsResponse:
        principal = current_principal()
        principal.require_role(ROLE_READER)
        size = page_size(request.page_size, maximum=MAX_SESSION_PAGE)
        terms = parse_filter(request.filter, SESSION_FILTER)
        owner = owner_scope(principal, terms=terms)
        keys, order = self._session_order(request.order_by)
        query = self._tokens.fingerprint("ListSessions", principal.user_id, request.filter.strip(), order)
        token = self._tokens.decode(request.page_token, query=query)
        after = decode_key(keys, token) if token is not None else None
        async with self._db.sessions() as session:
            rows = await self._sessions.page(session, terms=terms, owner=owner, keys=keys, after=after,
                                             limit=size + 1)
        response = hs.ListSessionsResponse(sessions=[session_to_proto(r) for r in rows[:size]])
        if len(rows) > size:
            response.next_page_token = self._tokens.encode(encode_key(rows[size - 1].sort_values), query=query)
        return response

    async def RecentSessions(self, request: hs.RecentSessionsRequest,
                             context: grpc.aio.ServicerContext) -> hs.RecentSessionsResponse:
        principal = current_principal()
        principal.require_role(ROLE_READER)
        if not 0 <= request.limit <= MAX_RECENT:
            raise InvalidArgument.for_field("limit", f"must be between 0 and {MAX_RECENT} (got {request.limit})")
        owner = owner_scope(principal, request.owner)
        keys = sort_keys("start_time", True)
        async with self._db.sessions() as session:
            rows = await self._sessions.page(session, terms=[], owner=owner, keys=keys, after=None,
                                             limit=request.limit or 10)
        return hs.RecentSessionsResponse(sessions=[session_to_proto(r) for r in rows])

    # Session events

    async def AppendSessionEvent(self, request: hs.AppendSessionEventRequest,
                                 context: grpc.aio.ServicerContext) -> SessionEvent:
        principal = current_principal()
        principal.require_role(ROLE_WRITER)
        session_id = parse_session_name(request.parent, "parent")
        if not request.HasField("session_event"):
            raise InvalidArgument.for_field("session_event", "is required")
        paths = validate_event(request.session_event)
        if request.expected_revision < 0:
            raise InvalidArgument.for_field("expected_revision", "must not be negative")
        validate_request_id(request.request_id)
        visible_to = owner_scope(principal)

        async def body(session: Any) -> SessionEvent:
            stored = await self._sessions.get(session, session_id, visible_to=visible_to, for_update=True)
            if request.expected_revision and request.expected_revision != stored.revision:
                raise Aborted(f"session '{stored.name}' is at revision {stored.revision}, not "
                              f"{request.expected_revision}; read it again", reason="REVISION_MISMATCH",
                              metadata={"revision": str(stored.revision)})
            now = datetime.now(UTC)
            event = SessionEvent()
            event.CopyFrom(request.session_event)
            sequence = stored.event_count + 1
            event.name = f"{stored.name}/events/{sequence}"
            event.sequence = sequence
            event.event_time.CopyFrom(_timestamp(now))
            event.actor = principal.user_id
            revision = None
            corrected = None
            if paths:
                event.kind = SessionEvent.KIND_CORRECTION
                corrected = apply_correction(Session.FromString(stored.current), request.session_event.correction)
                # Keep only the corrected values: the rest of the given session is ignored by contract.
                trimmed = Session()
                request.session_event.correction.update_mask.MergeMessage(
                    request.session_event.correction.session, trimmed,
                    replace_message_field=True, replace_repeated_field=True)
                event.correction.session.CopyFrom(trimmed)
                revision = stored.revision + 1
                event.correction.revision = revision
            else:
                event.kind = SessionEvent.KIND_ANNOTATION
            await self._sessions.append_event(session, stored, kind=event.kind, actor=event.actor, event_time=now,
                                              revision=revision, payload=event.SerializeToString(deterministic=True))
            if corrected is not None:
                await self._sessions.apply_revision(session, stored, current=corrected.SerializeToString(
                    deterministic=True), projection=project(corrected), now=now)
            return event

        return await self._idempotent(APPEND_SESSION_EVENT, principal, request, SessionEvent, body)

    async def ListSessionEvents(self, request: hs.ListSessionEventsRequest,
                                context: grpc.aio.ServicerContext) -> hs.ListSessionEventsResponse:
        principal = current_principal()
        principal.require_role(ROLE_READER)
        session_id = parse_session_name(request.parent, "parent")
        size = page_size(request.page_size, default=100, maximum=MAX_EVENT_PAGE)
        terms = parse_filter(request.filter, SESSION_EVENT_FILTER)
        order = parse_order_by(request.order_by, ["sequence"], default="sequence")
        descending = order[0].descending
        query = self._tokens.fingerprint("ListSessionEvents", session_id, request.filter.strip(), canonical(order))
        token = self._tokens.decode(request.page_token, query=query)
        if token is not None and (len(token) != 1 or not isinstance(token[0], int)):
            raise InvalidArgument.for_field("page_token", "is not a page token issued by this service")
        async with self._db.sessions() as session:
            await self._sessions.get(session, session_id, visible_to=owner_scope(principal))
            rows = await self._sessions.events(session, session_id, terms=terms, descending=descending,
                                               after=token[0] if token else None, limit=size + 1)
        response = hs.ListSessionEventsResponse(
            session_events=[SessionEvent.FromString(r.payload) for r in rows[:size]])
        if len(rows) > size:
            response.next_page_token = self._tokens.encode([rows[size - 1].sequence], query=query)
        return response

    # Aggregates and export

    async def GetStats(self, request: hs.GetStatsRequest, context: grpc.aio.ServicerContext) -> hs.GetStatsResponse:
        principal = current_principal()
        principal.require_role(ROLE_READER)
        owner = owner_scope(principal, request.owner)
        start = to_datetime(request.start_time, "start_time") if request.HasField("start_time") else None
        end = to_datetime(request.end_time, "end_time") if request.HasField("end_time") else None
        if start and end and end <= start:
            raise InvalidArgument.for_field("end_time", "must be after start_time", reason="INVALID_TIME_RANGE")
        zone = validate_time_zone(request.time_zone)
        conditions = stats_conditions(owner, start, end)
        async with self._db.sessions() as session:
            totals = await self._sessions.totals(session, conditions)
            recipes = await self._sessions.by_recipe(session, conditions)
            days = await self._sessions.by_day(session, conditions, zone)
        response = hs.GetStatsResponse(
            owner=owner or "", total_sessions=totals.total, succeeded_sessions=totals.succeeded,
            failed_sessions=totals.failed, cancelled_sessions=totals.cancelled,
            total_examples_generated=totals.examples_generated, total_examples_saved=totals.examples_saved,
            total_tokens_generated=totals.tokens_generated, avg_quality=totals.avg_quality,
            quality_session_count=totals.quality_sessions, fine_tune_triggered_sessions=totals.fine_tune_triggered,
        )
        response.total_training_time.FromNanoseconds(totals.duration_nanos)
        for recipe, count, nanos in recipes:
            usage = response.compute_by_recipe.add(recipe=recipe).usage
            usage.session_count = count
            usage.compute_time.FromNanoseconds(nanos)
        for day, count, nanos in days:
            usage = response.compute_by_day.add(date=day).usage
            usage.session_count = count
            usage.compute_time.FromNanoseconds(nanos)
        return response

    async def ExportSessions(self, request: hs.ExportSessionsRequest,
                             context: grpc.aio.ServicerContext) -> AsyncIterator[hs.ExportSessionsResponse]:
        principal = current_principal()
        principal.require_role(ROLE_READER)
        if request.format not in (hs.EXPORT_FORMAT_CSV, hs.EXPORT_FORMAT_JSONL):
            raise InvalidArgument.for_field("format", "is required: EXPORT_FORMAT_CSV or EXPORT_FORMAT_JSONL")
        terms = parse_filter(request.filter, SESSION_FILTER)
        owner = owner_scope(principal, terms=terms)
        keys, order = self._session_order(request.order_by)
        query = self._tokens.fingerprint("ExportSessions", principal.user_id, int(request.format),
                                         request.filter.strip(), order)
        token = self._tokens.decode(request.resume_token, query=query, field="resume_token")
        after = decode_key(keys, token, "resume_token") if token is not None else None
        csv = request.format == hs.EXPORT_FORMAT_CSV
        render = export.csv_row if csv else export.jsonl_row
        buffer = bytearray(export.csv_header() if csv and after is None else b"")
        rows_in_buffer = 0
        last_key: list[Any] | None = None
        while True:
            # A short transaction per batch: a long export never holds one open while the client reads.
            async with self._db.sessions() as session:
                rows = await self._sessions.page(session, terms=terms, owner=owner, keys=keys, after=after,
                                                 limit=EXPORT_BATCH)
            for row in rows:
                line = render(session_to_proto(row))
                if rows_in_buffer and len(buffer) + len(line) > self._chunk_bytes:
                    yield self._chunk(buffer, rows_in_buffer, last_key, query)
                    buffer, rows_in_buffer = bytearray(), 0
                buffer += line
                rows_in_buffer += 1
                last_key = encode_key(row.sort_values)
            if len(rows) < EXPORT_BATCH:
                break
            after = list(rows[-1].sort_values)
        if buffer or last_key is None:
            yield self._chunk(buffer, rows_in_buffer, last_key, query)

    def _chunk(self, data: bytearray, rows: int, last_key: list[Any] | None, query: str) -> hs.ExportSessionsResponse:
        token = self._tokens.encode(last_key, query=query) if last_key is not None else ""
        return hs.ExportSessionsResponse(data=bytes(data), row_count=rows, resume_token=token)

    # Lifecycle events

    async def RecordLifecycleEvent(self, request: hs.RecordLifecycleEventRequest,
                                   context: grpc.aio.ServicerContext) -> LifecycleEvent:
        principal = current_principal()
        principal.require_role(ROLE_WRITER)
        if not (principal.is_service or principal.is_admin):
            raise PermissionDenied("lifecycle events are recorded by services (or admins) only",
                                   reason="SERVICE_REQUIRED")
        if not request.HasField("lifecycle_event"):
            raise InvalidArgument.for_field("lifecycle_event", "is required")
        event_id = request.lifecycle_event_id
        if event_id:
            validate_uuid4(event_id, "lifecycle_event_id")
        validate_request_id(request.request_id)
        now = datetime.now(UTC)
        index = lifecycle.validate_event(request.lifecycle_event, now)
        record = lifecycle.normalize_event(request.lifecycle_event)
        blob = record.SerializeToString(deterministic=True)
        digest = hashlib.sha256(blob).hexdigest()
        eid = event_id or str(uuid.uuid4())

        async def body(session: Any) -> LifecycleEvent:
            if event_id:
                existing = await self._lifecycle.find(session, event_id)
                if existing is not None:
                    if existing.content_sha256 == digest:
                        return lifecycle_to_proto(existing)
                    raise AlreadyExists(f"lifecycle event 'lifecycleEvents/{event_id}' exists with different "
                                        "content", reason="LIFECYCLE_EVENT_ALREADY_EXISTS",
                                        metadata={"name": f"lifecycleEvents/{event_id}"})
            event_time = record.event_time.ToDatetime(tzinfo=UTC)
            await self._lifecycle.insert(session, eid, index=index, model=record.model, actor=record.actor,
                                         source=principal.user_id, event_time=event_time, now=now, digest=digest,
                                         payload=blob)
            return lifecycle_to_proto(StoredLifecycleEvent(eid, digest, blob, event_time, now, principal.user_id))

        return await self._idempotent(RECORD_LIFECYCLE_EVENT, principal, request, LifecycleEvent, body)

    async def GetLifecycleEvent(self, request: hs.GetLifecycleEventRequest,
                                context: grpc.aio.ServicerContext) -> LifecycleEvent:
        current_principal().require_role(ROLE_READER)
        event_id = lifecycle.parse_event_name(request.name)
        async with self._db.sessions() as session:
            return lifecycle_to_proto(await self._lifecycle.get(session, event_id))

    async def ListLifecycleEvents(self, request: hs.ListLifecycleEventsRequest,
                                  context: grpc.aio.ServicerContext) -> hs.ListLifecycleEventsResponse:
        current_principal().require_role(ROLE_READER)
        size = page_size(request.page_size, maximum=MAX_LIFECYCLE_PAGE)
        terms = parse_filter(request.filter, lifecycle.LIFECYCLE_FILTER)
        order = parse_order_by(request.order_by, ["event_time"], default="event_time desc")
        keys = [order[0], SortKey("event_id", order[0].descending)]
        query = self._tokens.fingerprint("ListLifecycleEvents", request.filter.strip(), canonical(order))
        token = self._tokens.decode(request.page_token, query=query)
        after = decode_key(keys, token) if token is not None else None
        async with self._db.sessions() as session:
            rows = await self._lifecycle.page(session, terms=terms, keys=keys, after=after, limit=size + 1)
        response = hs.ListLifecycleEventsResponse(lifecycle_events=[lifecycle_to_proto(r) for r, _ in rows[:size]])
        if len(rows) > size:
            response.next_page_token = self._tokens.encode(encode_key(rows[size - 1][1]), query=query)
        return response

    async def GetAliasHistory(self, request: hs.GetAliasHistoryRequest,
                              context: grpc.aio.ServicerContext) -> hs.GetAliasHistoryResponse:
        current_principal().require_role(ROLE_READER)
        model = lifecycle.validate_model(request.model)
        alias = lifecycle.validate_alias(request.alias)
        now = datetime.now(UTC)
        asked = to_datetime(request.read_time, "read_time") if request.HasField("read_time") else None
        if asked is not None and asked > now:
            raise InvalidArgument.for_field("read_time", "must not be in the future")
        size = page_size(request.page_size, maximum=MAX_LIFECYCLE_PAGE)
        query = self._tokens.fingerprint("GetAliasHistory", model, alias, asked.isoformat() if asked else "")
        token = self._tokens.decode(request.page_token, query=query)
        read_time = asked or now
        newer: lifecycle.AliasMove | None = None
        cursor: tuple[datetime, str] | None = None
        if token is not None:
            # The token carries the read_time of the first page, so "now" stays the same while paging.
            try:
                read_time = datetime.fromisoformat(token[0])
                cursor = (datetime.fromisoformat(token[1]), str(token[2]))
            except (IndexError, TypeError, ValueError):
                raise InvalidArgument.for_field("page_token", "is not a page token issued by this service") from None
            newer = lifecycle.AliasMove(cursor[1], cursor[0], "", "")
        collected: list[lifecycle.Assignment] = []
        async with self._db.sessions() as session:
            if not await self._lifecycle.alias_known(session, model=model, alias=alias):
                raise lifecycle_not_found(model, alias)
            # "Which version held the alias at read_time" is this one seek: the newest move at or before it.
            latest = await self._lifecycle.alias_moves(session, model=model, alias=alias, read_time=read_time,
                                                       before=None, limit=1)
            exhausted = False
            while len(collected) <= size and not exhausted:
                moves = await self._lifecycle.alias_moves(session, model=model, alias=alias, read_time=read_time,
                                                          before=cursor, limit=size + 1)
                exhausted = len(moves) < size + 1
                collected += lifecycle.assignments(moves, newer)
                if moves:
                    newer = moves[-1]
                    cursor = (newer.event_time, newer.event_id)
        response = hs.GetAliasHistoryResponse(model=model, alias=alias, read_time=_timestamp(read_time))
        if latest and latest[0].new_version:
            response.current.CopyFrom(_assignment(lifecycle.Assignment(latest[0].new_version, latest[0], None)))
        response.assignments.extend(_assignment(a) for a in collected[:size])
        if len(collected) > size:
            last = collected[size - 1].start
            response.next_page_token = self._tokens.encode(
                [read_time.isoformat(), last.event_time.isoformat(), last.event_id], query=query)
        return response


def lifecycle_not_found(model: str, alias: str) -> NotFound:
    """NOT_FOUND for an alias the history has never seen."""
    return NotFound(f"the history holds no event for alias {alias!r} of {model!r}", reason="ALIAS_NOT_FOUND",
                    metadata={"model": model, "alias": alias})


def _assignment(a: lifecycle.Assignment) -> hs.AliasAssignment:
    message = hs.AliasAssignment(model_version=a.model_version, start_time=_timestamp(a.start.event_time),
                                 start_event=f"lifecycleEvents/{a.start.event_id}", actor=a.start.actor)
    if a.end is not None:
        message.end_time.CopyFrom(_timestamp(a.end.event_time))
        message.end_event = f"lifecycleEvents/{a.end.event_id}"
    return message
