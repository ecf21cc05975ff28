import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.rpc import status_pb2 as _status_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Session(_message.Message):
    __slots__ = ("name", "owner", "training_job", "model_version", "snapshot", "recipe", "config", "start_time", "end_time", "duration", "outcome", "error", "example_counts", "token_counts", "training_examples_before", "training_examples_after", "fine_tune", "quality", "best_model", "model_performances", "tag_counts", "storage_choices", "metrics", "create_time", "update_time", "revision")
    class Outcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        OUTCOME_UNSPECIFIED: _ClassVar[Session.Outcome]
        OUTCOME_SUCCEEDED: _ClassVar[Session.Outcome]
        OUTCOME_FAILED: _ClassVar[Session.Outcome]
        OUTCOME_CANCELLED: _ClassVar[Session.Outcome]
    OUTCOME_UNSPECIFIED: Session.Outcome
    OUTCOME_SUCCEEDED: Session.Outcome
    OUTCOME_FAILED: Session.Outcome
    OUTCOME_CANCELLED: Session.Outcome
    class Counts(_message.Message):
        __slots__ = ("requested", "succeeded", "failed")
        REQUESTED_FIELD_NUMBER: _ClassVar[int]
        SUCCEEDED_FIELD_NUMBER: _ClassVar[int]
        FAILED_FIELD_NUMBER: _ClassVar[int]
        requested: int
        succeeded: int
        failed: int
        def __init__(self, requested: _Optional[int] = ..., succeeded: _Optional[int] = ..., failed: _Optional[int] = ...) -> None: ...
    class FineTune(_message.Message):
        __slots__ = ("triggered", "threshold", "training_job")
        TRIGGERED_FIELD_NUMBER: _ClassVar[int]
        THRESHOLD_FIELD_NUMBER: _ClassVar[int]
        TRAINING_JOB_FIELD_NUMBER: _ClassVar[int]
        triggered: bool
        threshold: int
        training_job: str
        def __init__(self, triggered: _Optional[bool] = ..., threshold: _Optional[int] = ..., training_job: _Optional[str] = ...) -> None: ...
    class Quality(_message.Message):
        __slots__ = ("min_score", "avg_score", "max_score", "sample_count")
        MIN_SCORE_FIELD_NUMBER: _ClassVar[int]
        AVG_SCORE_FIELD_NUMBER: _ClassVar[int]
        MAX_SCORE_FIELD_NUMBER: _ClassVar[int]
        SAMPLE_COUNT_FIELD_NUMBER: _ClassVar[int]
        min_score: float
        avg_score: float
        max_score: float
        sample_count: int
        def __init__(self, min_score: _Optional[float] = ..., avg_score: _Optional[float] = ..., max_score: _Optional[float] = ..., sample_count: _Optional[int] = ...) -> None: ...
    class ModelPerformance(_message.Message):
        __slots__ = ("model", "wins", "avg_quality", "sample_count")
        MODEL_FIELD_NUMBER: _ClassVar[int]
        WINS_FIELD_NUMBER: _ClassVar[int]
        AVG_QUALITY_FIELD_NUMBER: _ClassVar[int]
        SAMPLE_COUNT_FIELD_NUMBER: _ClassVar[int]
        model: str
        wins: int
        avg_quality: float
        sample_count: int
        def __init__(self, model: _Optional[str] = ..., wins: _Optional[int] = ..., avg_quality: _Optional[float] = ..., sample_count: _Optional[int] = ...) -> None: ...
    class StorageChoice(_message.Message):
        __slots__ = ("artifact", "mode", "uri", "example_count")
        class Mode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
            __slots__ = ()
            MODE_UNSPECIFIED: _ClassVar[Session.StorageChoice.Mode]
            MODE_IN_MEMORY: _ClassVar[Session.StorageChoice.Mode]
            MODE_SAVED: _ClassVar[Session.StorageChoice.Mode]
        MODE_UNSPECIFIED: Session.StorageChoice.Mode
        MODE_IN_MEMORY: Session.StorageChoice.Mode
        MODE_SAVED: Session.StorageChoice.Mode
        ARTIFACT_FIELD_NUMBER: _ClassVar[int]
        MODE_FIELD_NUMBER: _ClassVar[int]
        URI_FIELD_NUMBER: _ClassVar[int]
        EXAMPLE_COUNT_FIELD_NUMBER: _ClassVar[int]
        artifact: str
        mode: Session.StorageChoice.Mode
        uri: str
        example_count: int
        def __init__(self, artifact: _Optional[str] = ..., mode: _Optional[_Union[Session.StorageChoice.Mode, str]] = ..., uri: _Optional[str] = ..., example_count: _Optional[int] = ...) -> None: ...
    class TagCountsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    TRAINING_JOB_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    RECIPE_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    EXAMPLE_COUNTS_FIELD_NUMBER: _ClassVar[int]
    TOKEN_COUNTS_FIELD_NUMBER: _ClassVar[int]
    TRAINING_EXAMPLES_BEFORE_FIELD_NUMBER: _ClassVar[int]
    TRAINING_EXAMPLES_AFTER_FIELD_NUMBER: _ClassVar[int]
    FINE_TUNE_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    BEST_MODEL_FIELD_NUMBER: _ClassVar[int]
    MODEL_PERFORMANCES_FIELD_NUMBER: _ClassVar[int]
    TAG_COUNTS_FIELD_NUMBER: _ClassVar[int]
    STORAGE_CHOICES_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    name: str
    owner: str
    training_job: str
    model_version: str
    snapshot: str
    recipe: str
    config: _struct_pb2.Struct
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    duration: _duration_pb2.Duration
    outcome: Session.Outcome
    error: _status_pb2.Status
    example_counts: Session.Counts
    token_counts: Session.Counts
    training_examples_before: int
    training_examples_after: int
    fine_tune: Session.FineTune
    quality: Session.Quality
    best_model: str
    model_performances: _containers.RepeatedCompositeFieldContainer[Session.ModelPerformance]
    tag_counts: _containers.ScalarMap[str, int]
    storage_choices: _containers.RepeatedCompositeFieldContainer[Session.StorageChoice]
    metrics: _containers.ScalarMap[str, float]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    revision: int
    def __init__(self, name: _Optional[str] = ..., owner: _Optional[str] = ..., training_job: _Optional[str] = ..., model_version: _Optional[str] = ..., snapshot: _Optional[str] = ..., recipe: _Optional[str] = ..., config: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., outcome: _Optional[_Union[Session.Outcome, str]] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ..., example_counts: _Optional[_Union[Session.Counts, _Mapping]] = ..., token_counts: _Optional[_Union[Session.Counts, _Mapping]] = ..., training_examples_before: _Optional[int] = ..., training_examples_after: _Optional[int] = ..., fine_tune: _Optional[_Union[Session.FineTune, _Mapping]] = ..., quality: _Optional[_Union[Session.Quality, _Mapping]] = ..., best_model: _Optional[str] = ..., model_performances: _Optional[_Iterable[_Union[Session.ModelPerformance, _Mapping]]] = ..., tag_counts: _Optional[_Mapping[str, int]] = ..., storage_choices: _Optional[_Iterable[_Union[Session.StorageChoice, _Mapping]]] = ..., metrics: _Optional[_Mapping[str, float]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revision: _Optional[int] = ...) -> None: ...
