import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.rpc import status_pb2 as _status_pb2
from lathe.trainer.v1 import checkpoint_pb2 as _checkpoint_pb2
from lathe.trainer.v1 import training_config_pb2 as _training_config_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TrainingJob(_message.Message):
    __slots__ = ("name", "display_name", "owner", "labels", "recipe", "causal_lm", "ngram_lm", "embedding_finetune", "projection_heads", "options", "scheduling", "data_source", "parent_model_version", "model", "snapshot", "state", "error", "devices", "progress_fraction", "step", "total_steps", "estimated_remaining", "latest_metrics", "baseline_metrics", "checkpoints", "model_version", "artifact_uri", "artifact_sha256", "restart_count", "tokens_processed", "examples_processed", "last_event_sequence", "create_time", "update_time", "start_time", "end_time")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[TrainingJob.State]
        STATE_QUEUED: _ClassVar[TrainingJob.State]
        STATE_RUNNING: _ClassVar[TrainingJob.State]
        STATE_SUCCEEDED: _ClassVar[TrainingJob.State]
        STATE_FAILED: _ClassVar[TrainingJob.State]
        STATE_CANCELLING: _ClassVar[TrainingJob.State]
        STATE_CANCELLED: _ClassVar[TrainingJob.State]
    STATE_UNSPECIFIED: TrainingJob.State
    STATE_QUEUED: TrainingJob.State
    STATE_RUNNING: TrainingJob.State
    STATE_SUCCEEDED: TrainingJob.State
    STATE_FAILED: TrainingJob.State
    STATE_CANCELLING: TrainingJob.State
    STATE_CANCELLED: TrainingJob.State
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class LatestMetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class BaselineMetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    RECIPE_FIELD_NUMBER: _ClassVar[int]
    CAUSAL_LM_FIELD_NUMBER: _ClassVar[int]
    NGRAM_LM_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_FINETUNE_FIELD_NUMBER: _ClassVar[int]
    PROJECTION_HEADS_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    SCHEDULING_FIELD_NUMBER: _ClassVar[int]
    DATA_SOURCE_FIELD_NUMBER: _ClassVar[int]
    PARENT_MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FRACTION_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    TOTAL_STEPS_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_REMAINING_FIELD_NUMBER: _ClassVar[int]
    LATEST_METRICS_FIELD_NUMBER: _ClassVar[int]
    BASELINE_METRICS_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINTS_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_URI_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_SHA256_FIELD_NUMBER: _ClassVar[int]
    RESTART_COUNT_FIELD_NUMBER: _ClassVar[int]
    TOKENS_PROCESSED_FIELD_NUMBER: _ClassVar[int]
    EXAMPLES_PROCESSED_FIELD_NUMBER: _ClassVar[int]
    LAST_EVENT_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    owner: str
    labels: _containers.ScalarMap[str, str]
    recipe: _training_config_pb2.Recipe
    causal_lm: _training_config_pb2.CausalLmConfig
    ngram_lm: _training_config_pb2.NgramLmConfig
    embedding_finetune: _training_config_pb2.EmbeddingFinetuneConfig
    projection_heads: _training_config_pb2.ProjectionHeadsConfig
    options: _training_config_pb2.TrainingOptions
    scheduling: _training_config_pb2.SchedulingOptions
    data_source: _training_config_pb2.DataSource
    parent_model_version: str
    model: str
    snapshot: str
    state: TrainingJob.State
    error: _status_pb2.Status
    devices: _containers.RepeatedScalarFieldContainer[str]
    progress_fraction: float
    step: int
    total_steps: int
    estimated_remaining: _duration_pb2.Duration
    latest_metrics: _containers.ScalarMap[str, float]
    baseline_metrics: _containers.ScalarMap[str, float]
    checkpoints: _containers.RepeatedCompositeFieldContainer[_checkpoint_pb2.Checkpoint]
    model_version: str
    artifact_uri: str
    artifact_sha256: str
    restart_count: int
    tokens_processed: int
    examples_processed: int
    last_event_sequence: int
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., owner: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., recipe: _Optional[_Union[_training_config_pb2.Recipe, str]] = ..., causal_lm: _Optional[_Union[_training_config_pb2.CausalLmConfig, _Mapping]] = ..., ngram_lm: _Optional[_Union[_training_config_pb2.NgramLmConfig, _Mapping]] = ..., embedding_finetune: _Optional[_Union[_training_config_pb2.EmbeddingFinetuneConfig, _Mapping]] = ..., projection_heads: _Optional[_Union[_training_config_pb2.ProjectionHeadsConfig, _Mapping]] = ..., options: _Optional[_Union[_training_config_pb2.TrainingOptions, _Mapping]] = ..., scheduling: _Optional[_Union[_training_config_pb2.SchedulingOptions, _Mapping]] = ..., data_source: _Optional[_Union[_training_config_pb2.DataSource, _Mapping]] = ..., parent_model_version: _Optional[str] = ..., model: _Optional[str] = ..., snapshot: _Optional[str] = ..., state: _Optional[_Union[TrainingJob.State, str]] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ..., devices: _Optional[_Iterable[str]] = ..., progress_fraction: _Optional[float] = ..., step: _Optional[int] = ..., total_steps: _Optional[int] = ..., estimated_remaining: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., latest_metrics: _Optional[_Mapping[str, float]] = ..., baseline_metrics: _Optional[_Mapping[str, float]] = ..., checkpoints: _Optional[_Iterable[_Union[_checkpoint_pb2.Checkpoint, _Mapping]]] = ..., model_version: _Optional[str] = ..., artifact_uri: _Optional[str] = ..., artifact_sha256: _Optional[str] = ..., restart_count: _Optional[int] = ..., tokens_processed: _Optional[int] = ..., examples_processed: _Optional[int] = ..., last_event_sequence: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
