import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.rpc import status_pb2 as _status_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ImportBatch(_message.Message):
    __slots__ = ("name", "root", "path", "format", "file_sha256", "size_bytes", "state", "state_history", "error", "failure", "results", "attempt_count", "scan_id", "embedding_models", "creator", "create_time", "update_time", "start_time", "end_time")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[ImportBatch.State]
        STATE_PENDING: _ClassVar[ImportBatch.State]
        STATE_IMPORTING: _ClassVar[ImportBatch.State]
        STATE_EMBEDDING: _ClassVar[ImportBatch.State]
        STATE_COMPLETED: _ClassVar[ImportBatch.State]
        STATE_FAILED: _ClassVar[ImportBatch.State]
    STATE_UNSPECIFIED: ImportBatch.State
    STATE_PENDING: ImportBatch.State
    STATE_IMPORTING: ImportBatch.State
    STATE_EMBEDDING: ImportBatch.State
    STATE_COMPLETED: ImportBatch.State
    STATE_FAILED: ImportBatch.State
    class Format(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        FORMAT_UNSPECIFIED: _ClassVar[ImportBatch.Format]
        FORMAT_PLAIN_TEXT: _ClassVar[ImportBatch.Format]
        FORMAT_JSONL_TEXTS: _ClassVar[ImportBatch.Format]
        FORMAT_QA_JSON: _ClassVar[ImportBatch.Format]
        FORMAT_QA_JSONL: _ClassVar[ImportBatch.Format]
        FORMAT_STACKFAQ: _ClassVar[ImportBatch.Format]
    FORMAT_UNSPECIFIED: ImportBatch.Format
    FORMAT_PLAIN_TEXT: ImportBatch.Format
    FORMAT_JSONL_TEXTS: ImportBatch.Format
    FORMAT_QA_JSON: ImportBatch.Format
    FORMAT_QA_JSONL: ImportBatch.Format
    FORMAT_STACKFAQ: ImportBatch.Format
    class StateTransition(_message.Message):
        __slots__ = ("state", "event_time", "attempt", "message")
        STATE_FIELD_NUMBER: _ClassVar[int]
        EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
        ATTEMPT_FIELD_NUMBER: _ClassVar[int]
        MESSAGE_FIELD_NUMBER: _ClassVar[int]
        state: ImportBatch.State
        event_time: _timestamp_pb2.Timestamp
        attempt: int
        message: str
        def __init__(self, state: _Optional[_Union[ImportBatch.State, str]] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attempt: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROOT_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    FILE_SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STATE_HISTORY_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_COUNT_FIELD_NUMBER: _ClassVar[int]
    SCAN_ID_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_MODELS_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    root: str
    path: str
    format: ImportBatch.Format
    file_sha256: str
    size_bytes: int
    state: ImportBatch.State
    state_history: _containers.RepeatedCompositeFieldContainer[ImportBatch.StateTransition]
    error: _status_pb2.Status
    failure: ImportFailure
    results: ImportBatchResults
    attempt_count: int
    scan_id: str
    embedding_models: _containers.RepeatedScalarFieldContainer[str]
    creator: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., root: _Optional[str] = ..., path: _Optional[str] = ..., format: _Optional[_Union[ImportBatch.Format, str]] = ..., file_sha256: _Optional[str] = ..., size_bytes: _Optional[int] = ..., state: _Optional[_Union[ImportBatch.State, str]] = ..., state_history: _Optional[_Iterable[_Union[ImportBatch.StateTransition, _Mapping]]] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ..., failure: _Optional[_Union[ImportFailure, _Mapping]] = ..., results: _Optional[_Union[ImportBatchResults, _Mapping]] = ..., attempt_count: _Optional[int] = ..., scan_id: _Optional[str] = ..., embedding_models: _Optional[_Iterable[str]] = ..., creator: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ImportFailure(_message.Message):
    __slots__ = ("path", "line", "column", "reason", "reason_code")
    PATH_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    path: str
    line: int
    column: int
    reason: str
    reason_code: str
    def __init__(self, path: _Optional[str] = ..., line: _Optional[int] = ..., column: _Optional[int] = ..., reason: _Optional[str] = ..., reason_code: _Optional[str] = ...) -> None: ...

class ImportBatchResults(_message.Message):
    __slots__ = ("item_count", "texts_created", "texts_existing", "qa_clusters_created", "qa_clusters_updated", "answers_created", "questions_created", "questions_existing", "embeddings_created", "embeddings_total")
    ITEM_COUNT_FIELD_NUMBER: _ClassVar[int]
    TEXTS_CREATED_FIELD_NUMBER: _ClassVar[int]
    TEXTS_EXISTING_FIELD_NUMBER: _ClassVar[int]
    QA_CLUSTERS_CREATED_FIELD_NUMBER: _ClassVar[int]
    QA_CLUSTERS_UPDATED_FIELD_NUMBER: _ClassVar[int]
    ANSWERS_CREATED_FIELD_NUMBER: _ClassVar[int]
    QUESTIONS_CREATED_FIELD_NUMBER: _ClassVar[int]
    QUESTIONS_EXISTING_FIELD_NUMBER: _ClassVar[int]
    EMBEDDINGS_CREATED_FIELD_NUMBER: _ClassVar[int]
    EMBEDDINGS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    item_count: int
    texts_created: int
    texts_existing: int
    qa_clusters_created: int
    qa_clusters_updated: int
    answers_created: int
    questions_created: int
    questions_existing: int
    embeddings_created: int
    embeddings_total: int
    def __init__(self, item_count: _Optional[int] = ..., texts_created: _Optional[int] = ..., texts_existing: _Optional[int] = ..., qa_clusters_created: _Optional[int] = ..., qa_clusters_updated: _Optional[int] = ..., answers_created: _Optional[int] = ..., questions_created: _Optional[int] = ..., questions_existing: _Optional[int] = ..., embeddings_created: _Optional[int] = ..., embeddings_total: _Optional[int] = ...) -> None: ...
