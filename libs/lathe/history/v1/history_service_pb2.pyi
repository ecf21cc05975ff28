import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from lathe.history.v1 import lifecycle_event_pb2 as _lifecycle_event_pb2
from lathe.history.v1 import session_pb2 as _session_pb2
from lathe.history.v1 import session_event_pb2 as _session_event_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ExportFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXPORT_FORMAT_UNSPECIFIED: _ClassVar[ExportFormat]
    EXPORT_FORMAT_CSV: _ClassVar[ExportFormat]
    EXPORT_FORMAT_JSONL: _ClassVar[ExportFormat]
EXPORT_FORMAT_UNSPECIFIED: ExportFormat
EXPORT_FORMAT_CSV: ExportFormat
EXPORT_FORMAT_JSONL: ExportFormat

class RecordSessionRequest(_message.Message):
    __slots__ = ("session", "session_id", "request_id")
    SESSION_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    session: _session_pb2.Session
    session_id: str
    request_id: str
    def __init__(self, session: _Optional[_Union[_session_pb2.Session, _Mapping]] = ..., session_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetSessionRequest(_message.Message):
    __slots__ = ("name", "revision")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    name: str
    revision: int
    def __init__(self, name: _Optional[str] = ..., revision: _Optional[int] = ...) -> None: ...

class ListSessionsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "filter", "order_by")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    filter: str
    order_by: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ..., order_by: _Optional[str] = ...) -> None: ...

class ListSessionsResponse(_message.Message):
    __slots__ = ("sessions", "next_page_token")
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[_session_pb2.Session]
    next_page_token: str
    def __init__(self, sessions: _Optional[_Iterable[_Union[_session_pb2.Session, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RecentSessionsRequest(_message.Message):
    __slots__ = ("limit", "owner")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    limit: int
    owner: str
    def __init__(self, limit: _Optional[int] = ..., owner: _Optional[str] = ...) -> None: ...

class RecentSessionsResponse(_message.Message):
    __slots__ = ("sessions",)
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[_session_pb2.Session]
    def __init__(self, sessions: _Optional[_Iterable[_Union[_session_pb2.Session, _Mapping]]] = ...) -> None: ...

class AppendSessionEventRequest(_message.Message):
    __slots__ = ("parent", "session_event", "expected_revision", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    SESSION_EVENT_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    session_event: _session_event_pb2.SessionEvent
    expected_revision: int
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., session_event: _Optional[_Union[_session_event_pb2.SessionEvent, _Mapping]] = ..., expected_revision: _Optional[int] = ..., request_id: _Optional[str] = ...) -> None: ...

class ListSessionEventsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "filter", "order_by")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    filter: str
    order_by: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ..., order_by: _Optional[str] = ...) -> None: ...

class ListSessionEventsResponse(_message.Message):
    __slots__ = ("session_events", "next_page_token")
    SESSION_EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    session_events: _containers.RepeatedCompositeFieldContainer[_session_event_pb2.SessionEvent]
    next_page_token: str
    def __init__(self, session_events: _Optional[_Iterable[_Union[_session_event_pb2.SessionEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetStatsRequest(_message.Message):
    __slots__ = ("owner", "start_time", "end_time", "time_zone")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    owner: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    time_zone: str
    def __init__(self, owner: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., time_zone: _Optional[str] = ...) -> None: ...

class ComputeUsage(_message.Message):
    __slots__ = ("session_count", "compute_time")
    SESSION_COUNT_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_TIME_FIELD_NUMBER: _ClassVar[int]
    session_count: int
    compute_time: _duration_pb2.Duration
    def __init__(self, session_count: _Optional[int] = ..., compute_time: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class RecipeUsage(_message.Message):
    __slots__ = ("recipe", "usage")
    RECIPE_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    recipe: str
    usage: ComputeUsage
    def __init__(self, recipe: _Optional[str] = ..., usage: _Optional[_Union[ComputeUsage, _Mapping]] = ...) -> None: ...

class DailyUsage(_message.Message):
    __slots__ = ("date", "usage")
    DATE_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    date: str
    usage: ComputeUsage
    def __init__(self, date: _Optional[str] = ..., usage: _Optional[_Union[ComputeUsage, _Mapping]] = ...) -> None: ...

class GetStatsResponse(_message.Message):
    __slots__ = ("owner", "total_sessions", "succeeded_sessions", "failed_sessions", "cancelled_sessions", "total_examples_generated", "total_examples_saved", "total_tokens_generated", "avg_quality", "quality_session_count", "total_training_time", "fine_tune_triggered_sessions", "compute_by_recipe", "compute_by_day")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    SUCCEEDED_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    FAILED_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_EXAMPLES_GENERATED_FIELD_NUMBER: _ClassVar[int]
    TOTAL_EXAMPLES_SAVED_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TOKENS_GENERATED_FIELD_NUMBER: _ClassVar[int]
    AVG_QUALITY_FIELD_NUMBER: _ClassVar[int]
    QUALITY_SESSION_COUNT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TRAINING_TIME_FIELD_NUMBER: _ClassVar[int]
    FINE_TUNE_TRIGGERED_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_BY_RECIPE_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_BY_DAY_FIELD_NUMBER: _ClassVar[int]
    owner: str
    total_sessions: int
    succeeded_sessions: int
    failed_sessions: int
    cancelled_sessions: int
    total_examples_generated: int
    total_examples_saved: int
    total_tokens_generated: int
    avg_quality: float
    quality_session_count: int
    total_training_time: _duration_pb2.Duration
    fine_tune_triggered_sessions: int
    compute_by_recipe: _containers.RepeatedCompositeFieldContainer[RecipeUsage]
    compute_by_day: _containers.RepeatedCompositeFieldContainer[DailyUsage]
    def __init__(self, owner: _Optional[str] = ..., total_sessions: _Optional[int] = ..., succeeded_sessions: _Optional[int] = ..., failed_sessions: _Optional[int] = ..., cancelled_sessions: _Optional[int] = ..., total_examples_generated: _Optional[int] = ..., total_examples_saved: _Optional[int] = ..., total_tokens_generated: _Optional[int] = ..., avg_quality: _Optional[float] = ..., quality_session_count: _Optional[int] = ..., total_training_time: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., fine_tune_triggered_sessions: _Optional[int] = ..., compute_by_recipe: _Optional[_Iterable[_Union[RecipeUsage, _Mapping]]] = ..., compute_by_day: _Optional[_Iterable[_Union[DailyUsage, _Mapping]]] = ...) -> None: ...

class ExportSessionsRequest(_message.Message):
    __slots__ = ("format", "filter", "order_by", "resume_token")
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    RESUME_TOKEN_FIELD_NUMBER: _ClassVar[int]
    format: ExportFormat
    filter: str
    order_by: str
    resume_token: str
    def __init__(self, format: _Optional[_Union[ExportFormat, str]] = ..., filter: _Optional[str] = ..., order_by: _Optional[str] = ..., resume_token: _Optional[str] = ...) -> None: ...

class ExportSessionsResponse(_message.Message):
    __slots__ = ("data", "row_count", "resume_token")
    DATA_FIELD_NUMBER: _ClassVar[int]
    ROW_COUNT_FIELD_NUMBER: _ClassVar[int]
    RESUME_TOKEN_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    row_count: int
    resume_token: str
    def __init__(self, data: _Optional[bytes] = ..., row_count: _Optional[int] = ..., resume_token: _Optional[str] = ...) -> None: ...

class RecordLifecycleEventRequest(_message.Message):
    __slots__ = ("lifecycle_event", "lifecycle_event_id", "request_id")
    LIFECYCLE_EVENT_FIELD_NUMBER: _ClassVar[int]
    LIFECYCLE_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    lifecycle_event: _lifecycle_event_pb2.LifecycleEvent
    lifecycle_event_id: str
    request_id: str
    def __init__(self, lifecycle_event: _Optional[_Union[_lifecycle_event_pb2.LifecycleEvent, _Mapping]] = ..., lifecycle_event_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetLifecycleEventRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListLifecycleEventsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "filter", "order_by")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    filter: str
    order_by: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ..., order_by: _Optional[str] = ...) -> None: ...

class ListLifecycleEventsResponse(_message.Message):
    __slots__ = ("lifecycle_events", "next_page_token")
    LIFECYCLE_EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    lifecycle_events: _containers.RepeatedCompositeFieldContainer[_lifecycle_event_pb2.LifecycleEvent]
    next_page_token: str
    def __init__(self, lifecycle_events: _Optional[_Iterable[_Union[_lifecycle_event_pb2.LifecycleEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetAliasHistoryRequest(_message.Message):
    __slots__ = ("model", "alias", "read_time", "page_size", "page_token")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    READ_TIME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    model: str
    alias: str
    read_time: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, model: _Optional[str] = ..., alias: _Optional[str] = ..., read_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class AliasAssignment(_message.Message):
    __slots__ = ("model_version", "start_time", "end_time", "start_event", "end_event", "actor")
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    START_EVENT_FIELD_NUMBER: _ClassVar[int]
    END_EVENT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    model_version: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    start_event: str
    end_event: str
    actor: str
    def __init__(self, model_version: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., start_event: _Optional[str] = ..., end_event: _Optional[str] = ..., actor: _Optional[str] = ...) -> None: ...

class GetAliasHistoryResponse(_message.Message):
    __slots__ = ("model", "alias", "read_time", "current", "assignments", "next_page_token")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    READ_TIME_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    ASSIGNMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    model: str
    alias: str
    read_time: _timestamp_pb2.Timestamp
    current: AliasAssignment
    assignments: _containers.RepeatedCompositeFieldContainer[AliasAssignment]
    next_page_token: str
    def __init__(self, model: _Optional[str] = ..., alias: _Optional[str] = ..., read_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., current: _Optional[_Union[AliasAssignment, _Mapping]] = ..., assignments: _Optional[_Iterable[_Union[AliasAssignment, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
