import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.rpc import status_pb2 as _status_pb2
from lathe.trainer.v1 import checkpoint_pb2 as _checkpoint_pb2
from lathe.trainer.v1 import training_config_pb2 as _training_config_pb2
from lathe.trainer.v1 import training_job_pb2 as _training_job_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TrainingEvent(_message.Message):
    __slots__ = ("name", "sequence", "event_time", "attempt", "job_state", "worker_sequence", "job_queued", "job_started", "step_metrics", "evaluation", "checkpoint_saved", "early_stopped", "log_message", "job_succeeded", "job_failed", "cancellation_requested", "job_cancelled", "worker_restarted", "model_version_registered")
    class JobQueued(_message.Message):
        __slots__ = ("priority", "queue_position")
        PRIORITY_FIELD_NUMBER: _ClassVar[int]
        QUEUE_POSITION_FIELD_NUMBER: _ClassVar[int]
        priority: int
        queue_position: int
        def __init__(self, priority: _Optional[int] = ..., queue_position: _Optional[int] = ...) -> None: ...
    class JobStarted(_message.Message):
        __slots__ = ("devices", "worker_pid", "host", "world_size", "resumed_from_step", "resumed_from_checkpoint", "total_steps")
        DEVICES_FIELD_NUMBER: _ClassVar[int]
        WORKER_PID_FIELD_NUMBER: _ClassVar[int]
        HOST_FIELD_NUMBER: _ClassVar[int]
        WORLD_SIZE_FIELD_NUMBER: _ClassVar[int]
        RESUMED_FROM_STEP_FIELD_NUMBER: _ClassVar[int]
        RESUMED_FROM_CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
        TOTAL_STEPS_FIELD_NUMBER: _ClassVar[int]
        devices: _containers.RepeatedScalarFieldContainer[str]
        worker_pid: int
        host: str
        world_size: int
        resumed_from_step: int
        resumed_from_checkpoint: str
        total_steps: int
        def __init__(self, devices: _Optional[_Iterable[str]] = ..., worker_pid: _Optional[int] = ..., host: _Optional[str] = ..., world_size: _Optional[int] = ..., resumed_from_step: _Optional[int] = ..., resumed_from_checkpoint: _Optional[str] = ..., total_steps: _Optional[int] = ...) -> None: ...
    class StepMetrics(_message.Message):
        __slots__ = ("step", "epoch", "loss", "learning_rate", "grad_norm", "tokens_per_second", "examples_per_second", "progress_fraction", "eta", "metrics")
        class MetricsEntry(_message.Message):
            __slots__ = ("key", "value")
            KEY_FIELD_NUMBER: _ClassVar[int]
            VALUE_FIELD_NUMBER: _ClassVar[int]
            key: str
            value: float
            def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
        STEP_FIELD_NUMBER: _ClassVar[int]
        EPOCH_FIELD_NUMBER: _ClassVar[int]
        LOSS_FIELD_NUMBER: _ClassVar[int]
        LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
        GRAD_NORM_FIELD_NUMBER: _ClassVar[int]
        TOKENS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
        EXAMPLES_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
        PROGRESS_FRACTION_FIELD_NUMBER: _ClassVar[int]
        ETA_FIELD_NUMBER: _ClassVar[int]
        METRICS_FIELD_NUMBER: _ClassVar[int]
        step: int
        epoch: float
        loss: float
        learning_rate: float
        grad_norm: float
        tokens_per_second: float
        examples_per_second: float
        progress_fraction: float
        eta: _duration_pb2.Duration
        metrics: _containers.ScalarMap[str, float]
        def __init__(self, step: _Optional[int] = ..., epoch: _Optional[float] = ..., loss: _Optional[float] = ..., learning_rate: _Optional[float] = ..., grad_norm: _Optional[float] = ..., tokens_per_second: _Optional[float] = ..., examples_per_second: _Optional[float] = ..., progress_fraction: _Optional[float] = ..., eta: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., metrics: _Optional[_Mapping[str, float]] = ...) -> None: ...
    class Evaluation(_message.Message):
        __slots__ = ("step", "split", "metrics", "baseline_metrics", "example_count", "is_final", "is_best")
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
        STEP_FIELD_NUMBER: _ClassVar[int]
        SPLIT_FIELD_NUMBER: _ClassVar[int]
        METRICS_FIELD_NUMBER: _ClassVar[int]
        BASELINE_METRICS_FIELD_NUMBER: _ClassVar[int]
        EXAMPLE_COUNT_FIELD_NUMBER: _ClassVar[int]
        IS_FINAL_FIELD_NUMBER: _ClassVar[int]
        IS_BEST_FIELD_NUMBER: _ClassVar[int]
        step: int
        split: _training_config_pb2.DatasetSplit
        metrics: _containers.ScalarMap[str, float]
        baseline_metrics: _containers.ScalarMap[str, float]
        example_count: int
        is_final: bool
        is_best: bool
        def __init__(self, step: _Optional[int] = ..., split: _Optional[_Union[_training_config_pb2.DatasetSplit, str]] = ..., metrics: _Optional[_Mapping[str, float]] = ..., baseline_metrics: _Optional[_Mapping[str, float]] = ..., example_count: _Optional[int] = ..., is_final: _Optional[bool] = ..., is_best: _Optional[bool] = ...) -> None: ...
    class CheckpointSaved(_message.Message):
        __slots__ = ("checkpoint", "deleted_checkpoints")
        CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
        DELETED_CHECKPOINTS_FIELD_NUMBER: _ClassVar[int]
        checkpoint: _checkpoint_pb2.Checkpoint
        deleted_checkpoints: _containers.RepeatedScalarFieldContainer[str]
        def __init__(self, checkpoint: _Optional[_Union[_checkpoint_pb2.Checkpoint, _Mapping]] = ..., deleted_checkpoints: _Optional[_Iterable[str]] = ...) -> None: ...
    class EarlyStopped(_message.Message):
        __slots__ = ("step", "metric", "best_value", "best_step", "patience")
        STEP_FIELD_NUMBER: _ClassVar[int]
        METRIC_FIELD_NUMBER: _ClassVar[int]
        BEST_VALUE_FIELD_NUMBER: _ClassVar[int]
        BEST_STEP_FIELD_NUMBER: _ClassVar[int]
        PATIENCE_FIELD_NUMBER: _ClassVar[int]
        step: int
        metric: str
        best_value: float
        best_step: int
        patience: int
        def __init__(self, step: _Optional[int] = ..., metric: _Optional[str] = ..., best_value: _Optional[float] = ..., best_step: _Optional[int] = ..., patience: _Optional[int] = ...) -> None: ...
    class LogMessage(_message.Message):
        __slots__ = ("severity", "message", "rank")
        class Severity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
            __slots__ = ()
            SEVERITY_UNSPECIFIED: _ClassVar[TrainingEvent.LogMessage.Severity]
            SEVERITY_DEBUG: _ClassVar[TrainingEvent.LogMessage.Severity]
            SEVERITY_INFO: _ClassVar[TrainingEvent.LogMessage.Severity]
            SEVERITY_WARNING: _ClassVar[TrainingEvent.LogMessage.Severity]
            SEVERITY_ERROR: _ClassVar[TrainingEvent.LogMessage.Severity]
        SEVERITY_UNSPECIFIED: TrainingEvent.LogMessage.Severity
        SEVERITY_DEBUG: TrainingEvent.LogMessage.Severity
        SEVERITY_INFO: TrainingEvent.LogMessage.Severity
        SEVERITY_WARNING: TrainingEvent.LogMessage.Severity
        SEVERITY_ERROR: TrainingEvent.LogMessage.Severity
        SEVERITY_FIELD_NUMBER: _ClassVar[int]
        MESSAGE_FIELD_NUMBER: _ClassVar[int]
        RANK_FIELD_NUMBER: _ClassVar[int]
        severity: TrainingEvent.LogMessage.Severity
        message: str
        rank: int
        def __init__(self, severity: _Optional[_Union[TrainingEvent.LogMessage.Severity, str]] = ..., message: _Optional[str] = ..., rank: _Optional[int] = ...) -> None: ...
    class JobSucceeded(_message.Message):
        __slots__ = ("model_version", "final_metrics", "baseline_metrics", "artifact_uri", "artifact_sha256", "step")
        class FinalMetricsEntry(_message.Message):
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
        FINAL_METRICS_FIELD_NUMBER: _ClassVar[int]
        BASELINE_METRICS_FIELD_NUMBER: _ClassVar[int]
        ARTIFACT_URI_FIELD_NUMBER: _ClassVar[int]
        ARTIFACT_SHA256_FIELD_NUMBER: _ClassVar[int]
        STEP_FIELD_NUMBER: _ClassVar[int]
        model_version: str
        final_metrics: _containers.ScalarMap[str, float]
        baseline_metrics: _containers.ScalarMap[str, float]
        artifact_uri: str
        artifact_sha256: str
        step: int
        def __init__(self, model_version: _Optional[str] = ..., final_metrics: _Optional[_Mapping[str, float]] = ..., baseline_metrics: _Optional[_Mapping[str, float]] = ..., artifact_uri: _Optional[str] = ..., artifact_sha256: _Optional[str] = ..., step: _Optional[int] = ...) -> None: ...
    class JobFailed(_message.Message):
        __slots__ = ("error", "step")
        ERROR_FIELD_NUMBER: _ClassVar[int]
        STEP_FIELD_NUMBER: _ClassVar[int]
        error: _status_pb2.Status
        step: int
        def __init__(self, error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ..., step: _Optional[int] = ...) -> None: ...
    class CancellationRequested(_message.Message):
        __slots__ = ("requested_by",)
        REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
        requested_by: str
        def __init__(self, requested_by: _Optional[str] = ...) -> None: ...
    class JobCancelled(_message.Message):
        __slots__ = ("step", "cancelled_by")
        STEP_FIELD_NUMBER: _ClassVar[int]
        CANCELLED_BY_FIELD_NUMBER: _ClassVar[int]
        step: int
        cancelled_by: str
        def __init__(self, step: _Optional[int] = ..., cancelled_by: _Optional[str] = ...) -> None: ...
    class WorkerRestarted(_message.Message):
        __slots__ = ("reason", "cause", "exit_code", "last_step", "resume_from_step", "restarts_remaining")
        class Reason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
            __slots__ = ()
            REASON_UNSPECIFIED: _ClassVar[TrainingEvent.WorkerRestarted.Reason]
            REASON_WORKER_CRASHED: _ClassVar[TrainingEvent.WorkerRestarted.Reason]
            REASON_DEVICE_LOST: _ClassVar[TrainingEvent.WorkerRestarted.Reason]
            REASON_SERVICE_RESTARTED: _ClassVar[TrainingEvent.WorkerRestarted.Reason]
        REASON_UNSPECIFIED: TrainingEvent.WorkerRestarted.Reason
        REASON_WORKER_CRASHED: TrainingEvent.WorkerRestarted.Reason
        REASON_DEVICE_LOST: TrainingEvent.WorkerRestarted.Reason
        REASON_SERVICE_RESTARTED: TrainingEvent.WorkerRestarted.Reason
        REASON_FIELD_NUMBER: _ClassVar[int]
        CAUSE_FIELD_NUMBER: _ClassVar[int]
        EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
        LAST_STEP_FIELD_NUMBER: _ClassVar[int]
        RESUME_FROM_STEP_FIELD_NUMBER: _ClassVar[int]
        RESTARTS_REMAINING_FIELD_NUMBER: _ClassVar[int]
        reason: TrainingEvent.WorkerRestarted.Reason
        cause: _status_pb2.Status
        exit_code: int
        last_step: int
        resume_from_step: int
        restarts_remaining: int
        def __init__(self, reason: _Optional[_Union[TrainingEvent.WorkerRestarted.Reason, str]] = ..., cause: _Optional[_Union[_status_pb2.Status, _Mapping]] = ..., exit_code: _Optional[int] = ..., last_step: _Optional[int] = ..., resume_from_step: _Optional[int] = ..., restarts_remaining: _Optional[int] = ...) -> None: ...
    class ModelVersionRegistered(_message.Message):
        __slots__ = ("model_version",)
        MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
        model_version: str
        def __init__(self, model_version: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    JOB_STATE_FIELD_NUMBER: _ClassVar[int]
    WORKER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    JOB_QUEUED_FIELD_NUMBER: _ClassVar[int]
    JOB_STARTED_FIELD_NUMBER: _ClassVar[int]
    STEP_METRICS_FIELD_NUMBER: _ClassVar[int]
    EVALUATION_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_SAVED_FIELD_NUMBER: _ClassVar[int]
    EARLY_STOPPED_FIELD_NUMBER: _ClassVar[int]
    LOG_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    JOB_SUCCEEDED_FIELD_NUMBER: _ClassVar[int]
    JOB_FAILED_FIELD_NUMBER: _ClassVar[int]
    CANCELLATION_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    JOB_CANCELLED_FIELD_NUMBER: _ClassVar[int]
    WORKER_RESTARTED_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_REGISTERED_FIELD_NUMBER: _ClassVar[int]
    name: str
    sequence: int
    event_time: _timestamp_pb2.Timestamp
    attempt: int
    job_state: _training_job_pb2.TrainingJob.State
    worker_sequence: int
    job_queued: TrainingEvent.JobQueued
    job_started: TrainingEvent.JobStarted
    step_metrics: TrainingEvent.StepMetrics
    evaluation: TrainingEvent.Evaluation
    checkpoint_saved: TrainingEvent.CheckpointSaved
    early_stopped: TrainingEvent.EarlyStopped
    log_message: TrainingEvent.LogMessage
    job_succeeded: TrainingEvent.JobSucceeded
    job_failed: TrainingEvent.JobFailed
    cancellation_requested: TrainingEvent.CancellationRequested
    job_cancelled: TrainingEvent.JobCancelled
    worker_restarted: TrainingEvent.WorkerRestarted
    model_version_registered: TrainingEvent.ModelVersionRegistered
    def __init__(self, name: _Optional[str] = ..., sequence: _Optional[int] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attempt: _Optional[int] = ..., job_state: _Optional[_Union[_training_job_pb2.TrainingJob.State, str]] = ..., worker_sequence: _Optional[int] = ..., job_queued: _Optional[_Union[TrainingEvent.JobQueued, _Mapping]] = ..., job_started: _Optional[_Union[TrainingEvent.JobStarted, _Mapping]] = ..., step_metrics: _Optional[_Union[TrainingEvent.StepMetrics, _Mapping]] = ..., evaluation: _Optional[_Union[TrainingEvent.Evaluation, _Mapping]] = ..., checkpoint_saved: _Optional[_Union[TrainingEvent.CheckpointSaved, _Mapping]] = ..., early_stopped: _Optional[_Union[TrainingEvent.EarlyStopped, _Mapping]] = ..., log_message: _Optional[_Union[TrainingEvent.LogMessage, _Mapping]] = ..., job_succeeded: _Optional[_Union[TrainingEvent.JobSucceeded, _Mapping]] = ..., job_failed: _Optional[_Union[TrainingEvent.JobFailed, _Mapping]] = ..., cancellation_requested: _Optional[_Union[TrainingEvent.CancellationRequested, _Mapping]] = ..., job_cancelled: _Optional[_Union[TrainingEvent.JobCancelled, _Mapping]] = ..., worker_restarted: _Optional[_Union[TrainingEvent.WorkerRestarted, _Mapping]] = ..., model_version_registered: _Optional[_Union[TrainingEvent.ModelVersionRegistered, _Mapping]] = ...) -> None: ...
