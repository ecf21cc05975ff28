import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from lathe.trainer.v1 import checkpoint_pb2 as _checkpoint_pb2
from lathe.trainer.v1 import training_config_pb2 as _training_config_pb2
from lathe.trainer.v1 import training_event_pb2 as _training_event_pb2
from lathe.trainer.v1 import training_job_pb2 as _training_job_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateTrainingJobRequest(_message.Message):
    __slots__ = ("training_job", "training_job_id", "request_id", "validate_only")
    TRAINING_JOB_FIELD_NUMBER: _ClassVar[int]
    TRAINING_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    training_job: _training_job_pb2.TrainingJob
    training_job_id: str
    request_id: str
    validate_only: bool
    def __init__(self, training_job: _Optional[_Union[_training_job_pb2.TrainingJob, _Mapping]] = ..., training_job_id: _Optional[str] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class GetTrainingJobRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListTrainingJobsRequest(_message.Message):
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

class ListTrainingJobsResponse(_message.Message):
    __slots__ = ("training_jobs", "next_page_token")
    TRAINING_JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    training_jobs: _containers.RepeatedCompositeFieldContainer[_training_job_pb2.TrainingJob]
    next_page_token: str
    def __init__(self, training_jobs: _Optional[_Iterable[_Union[_training_job_pb2.TrainingJob, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelTrainingJobRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListCheckpointsRequest(_message.Message):
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

class ListCheckpointsResponse(_message.Message):
    __slots__ = ("checkpoints", "next_page_token")
    CHECKPOINTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    checkpoints: _containers.RepeatedCompositeFieldContainer[_checkpoint_pb2.Checkpoint]
    next_page_token: str
    def __init__(self, checkpoints: _Optional[_Iterable[_Union[_checkpoint_pb2.Checkpoint, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListTrainingEventsRequest(_message.Message):
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

class ListTrainingEventsResponse(_message.Message):
    __slots__ = ("events", "next_page_token", "resume_token")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RESUME_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_training_event_pb2.TrainingEvent]
    next_page_token: str
    resume_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[_training_event_pb2.TrainingEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., resume_token: _Optional[str] = ...) -> None: ...

class WatchTrainingEventsRequest(_message.Message):
    __slots__ = ("parent", "resume_token", "filter", "heartbeat_interval")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    RESUME_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    parent: str
    resume_token: str
    filter: str
    heartbeat_interval: _duration_pb2.Duration
    def __init__(self, parent: _Optional[str] = ..., resume_token: _Optional[str] = ..., filter: _Optional[str] = ..., heartbeat_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class WatchTrainingEventsResponse(_message.Message):
    __slots__ = ("event", "heartbeat", "resume_token")
    class Heartbeat(_message.Message):
        __slots__ = ("heartbeat_time", "job_state", "last_sequence")
        HEARTBEAT_TIME_FIELD_NUMBER: _ClassVar[int]
        JOB_STATE_FIELD_NUMBER: _ClassVar[int]
        LAST_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
        heartbeat_time: _timestamp_pb2.Timestamp
        job_state: _training_job_pb2.TrainingJob.State
        last_sequence: int
        def __init__(self, heartbeat_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., job_state: _Optional[_Union[_training_job_pb2.TrainingJob.State, str]] = ..., last_sequence: _Optional[int] = ...) -> None: ...
    EVENT_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    RESUME_TOKEN_FIELD_NUMBER: _ClassVar[int]
    event: _training_event_pb2.TrainingEvent
    heartbeat: WatchTrainingEventsResponse.Heartbeat
    resume_token: str
    def __init__(self, event: _Optional[_Union[_training_event_pb2.TrainingEvent, _Mapping]] = ..., heartbeat: _Optional[_Union[WatchTrainingEventsResponse.Heartbeat, _Mapping]] = ..., resume_token: _Optional[str] = ...) -> None: ...

class EvaluateRequest(_message.Message):
    __slots__ = ("model_version", "snapshot", "split", "request_id")
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    model_version: str
    snapshot: str
    split: _training_config_pb2.DatasetSplit
    request_id: str
    def __init__(self, model_version: _Optional[str] = ..., snapshot: _Optional[str] = ..., split: _Optional[_Union[_training_config_pb2.DatasetSplit, str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class EvaluateResponse(_message.Message):
    __slots__ = ("model_version", "snapshot", "split", "recipe", "metrics", "baseline_metrics", "baseline", "example_count", "evaluation_time")
    class MetricsEntry(_message.Message):
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
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    RECIPE_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    BASELINE_METRICS_FIELD_NUMBER: _ClassVar[int]
    BASELINE_FIELD_NUMBER: _ClassVar[int]
    EXAMPLE_COUNT_FIELD_NUMBER: _ClassVar[int]
    EVALUATION_TIME_FIELD_NUMBER: _ClassVar[int]
    model_version: str
    snapshot: str
    split: _training_config_pb2.DatasetSplit
    recipe: _training_config_pb2.Recipe
    metrics: _containers.ScalarMap[str, float]
    baseline_metrics: _containers.ScalarMap[str, float]
    baseline: str
    example_count: int
    evaluation_time: _timestamp_pb2.Timestamp
    def __init__(self, model_version: _Optional[str] = ..., snapshot: _Optional[str] = ..., split: _Optional[_Union[_training_config_pb2.DatasetSplit, str]] = ..., recipe: _Optional[_Union[_training_config_pb2.Recipe, str]] = ..., metrics: _Optional[_Mapping[str, float]] = ..., baseline_metrics: _Optional[_Mapping[str, float]] = ..., baseline: _Optional[str] = ..., example_count: _Optional[int] = ..., evaluation_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GenerateSamplesRequest(_message.Message):
    __slots__ = ("name", "checkpoint", "prompt", "max_new_tokens", "temperature", "top_k", "sample_count", "seed", "model_version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    MAX_NEW_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_COUNT_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    checkpoint: str
    prompt: str
    max_new_tokens: int
    temperature: float
    top_k: int
    sample_count: int
    seed: int
    model_version: str
    def __init__(self, name: _Optional[str] = ..., checkpoint: _Optional[str] = ..., prompt: _Optional[str] = ..., max_new_tokens: _Optional[int] = ..., temperature: _Optional[float] = ..., top_k: _Optional[int] = ..., sample_count: _Optional[int] = ..., seed: _Optional[int] = ..., model_version: _Optional[str] = ...) -> None: ...

class GenerateSamplesResponse(_message.Message):
    __slots__ = ("samples", "checkpoint", "step", "seed", "model_version")
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    samples: _containers.RepeatedScalarFieldContainer[str]
    checkpoint: str
    step: int
    seed: int
    model_version: str
    def __init__(self, samples: _Optional[_Iterable[str]] = ..., checkpoint: _Optional[str] = ..., step: _Optional[int] = ..., seed: _Optional[int] = ..., model_version: _Optional[str] = ...) -> None: ...

class ReportWorkerEventsRequest(_message.Message):
    __slots__ = ("name", "attempt", "first_sequence", "events")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    name: str
    attempt: int
    first_sequence: int
    events: _containers.RepeatedCompositeFieldContainer[_training_event_pb2.TrainingEvent]
    def __init__(self, name: _Optional[str] = ..., attempt: _Optional[int] = ..., first_sequence: _Optional[int] = ..., events: _Optional[_Iterable[_Union[_training_event_pb2.TrainingEvent, _Mapping]]] = ...) -> None: ...

class ReportWorkerEventsResponse(_message.Message):
    __slots__ = ("acknowledged_sequence", "job_state")
    ACKNOWLEDGED_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    JOB_STATE_FIELD_NUMBER: _ClassVar[int]
    acknowledged_sequence: int
    job_state: _training_job_pb2.TrainingJob.State
    def __init__(self, acknowledged_sequence: _Optional[int] = ..., job_state: _Optional[_Union[_training_job_pb2.TrainingJob.State, str]] = ...) -> None: ...
