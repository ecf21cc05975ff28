from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Recipe(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECIPE_UNSPECIFIED: _ClassVar[Recipe]
    RECIPE_CAUSAL_LM: _ClassVar[Recipe]
    RECIPE_NGRAM_LM: _ClassVar[Recipe]
    RECIPE_EMBEDDING_FINETUNE: _ClassVar[Recipe]
    RECIPE_PROJECTION_HEADS: _ClassVar[Recipe]

class MetricGoal(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    METRIC_GOAL_UNSPECIFIED: _ClassVar[MetricGoal]
    METRIC_GOAL_MINIMIZE: _ClassVar[MetricGoal]
    METRIC_GOAL_MAXIMIZE: _ClassVar[MetricGoal]

class DatasetSplit(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DATASET_SPLIT_UNSPECIFIED: _ClassVar[DatasetSplit]
    DATASET_SPLIT_TRAIN: _ClassVar[DatasetSplit]
    DATASET_SPLIT_VALIDATION: _ClassVar[DatasetSplit]
    DATASET_SPLIT_TEST: _ClassVar[DatasetSplit]
    DATASET_SPLIT_ALL: _ClassVar[DatasetSplit]

class Tokenizer(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TOKENIZER_UNSPECIFIED: _ClassVar[Tokenizer]
    TOKENIZER_BYTE: _ClassVar[Tokenizer]
    TOKENIZER_CHAR: _ClassVar[Tokenizer]

class LearningRateSchedule(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LEARNING_RATE_SCHEDULE_UNSPECIFIED: _ClassVar[LearningRateSchedule]
    LEARNING_RATE_SCHEDULE_CONSTANT: _ClassVar[LearningRateSchedule]
    LEARNING_RATE_SCHEDULE_LINEAR: _ClassVar[LearningRateSchedule]
    LEARNING_RATE_SCHEDULE_COSINE: _ClassVar[LearningRateSchedule]

class Precision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRECISION_UNSPECIFIED: _ClassVar[Precision]
    PRECISION_FLOAT32: _ClassVar[Precision]
    PRECISION_BFLOAT16: _ClassVar[Precision]

class DeviceKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEVICE_KIND_UNSPECIFIED: _ClassVar[DeviceKind]
    DEVICE_KIND_CPU: _ClassVar[DeviceKind]
    DEVICE_KIND_CUDA: _ClassVar[DeviceKind]
RECIPE_UNSPECIFIED: Recipe
RECIPE_CAUSAL_LM: Recipe
RECIPE_NGRAM_LM: Recipe
RECIPE_EMBEDDING_FINETUNE: Recipe
RECIPE_PROJECTION_HEADS: Recipe
METRIC_GOAL_UNSPECIFIED: MetricGoal
METRIC_GOAL_MINIMIZE: MetricGoal
METRIC_GOAL_MAXIMIZE: MetricGoal
DATASET_SPLIT_UNSPECIFIED: DatasetSplit
DATASET_SPLIT_TRAIN: DatasetSplit
DATASET_SPLIT_VALIDATION: DatasetSplit
DATASET_SPLIT_TEST: DatasetSplit
DATASET_SPLIT_ALL: DatasetSplit
TOKENIZER_UNSPECIFIED: Tokenizer
TOKENIZER_BYTE: Tokenizer
TOKENIZER_CHAR: Tokenizer
LEARNING_RATE_SCHEDULE_UNSPECIFIED: LearningRateSchedule
LEARNING_RATE_SCHEDULE_CONSTANT: LearningRateSchedule
LEARNING_RATE_SCHEDULE_LINEAR: LearningRateSchedule
LEARNING_RATE_SCHEDULE_COSINE: LearningRateSchedule
PRECISION_UNSPECIFIED: Precision
PRECISION_FLOAT32: Precision
PRECISION_BFLOAT16: Precision
DEVICE_KIND_UNSPECIFIED: DeviceKind
DEVICE_KIND_CPU: DeviceKind
DEVICE_KIND_CUDA: DeviceKind

class DataSource(_message.Message):
    __slots__ = ("snapshot", "latest_corpus")
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    LATEST_CORPUS_FIELD_NUMBER: _ClassVar[int]
    snapshot: str
    latest_corpus: LatestCorpus
    def __init__(self, snapshot: _Optional[str] = ..., latest_corpus: _Optional[_Union[LatestCorpus, _Mapping]] = ...) -> None: ...

class LatestCorpus(_message.Message):
    __slots__ = ("filter",)
    FILTER_FIELD_NUMBER: _ClassVar[int]
    filter: str
    def __init__(self, filter: _Optional[str] = ...) -> None: ...

class TrainingOptions(_message.Message):
    __slots__ = ("seed", "max_steps", "max_epochs", "learning_rate", "learning_rate_schedule", "min_learning_rate", "warmup_steps", "batch_size", "weight_decay", "max_grad_norm", "gradient_accumulation_steps", "precision", "eval_interval_steps", "eval_batches", "log_interval_steps", "checkpoint_policy", "early_stopping")
    SEED_FIELD_NUMBER: _ClassVar[int]
    MAX_STEPS_FIELD_NUMBER: _ClassVar[int]
    MAX_EPOCHS_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    MIN_LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    WARMUP_STEPS_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_DECAY_FIELD_NUMBER: _ClassVar[int]
    MAX_GRAD_NORM_FIELD_NUMBER: _ClassVar[int]
    GRADIENT_ACCUMULATION_STEPS_FIELD_NUMBER: _ClassVar[int]
    PRECISION_FIELD_NUMBER: _ClassVar[int]
    EVAL_INTERVAL_STEPS_FIELD_NUMBER: _ClassVar[int]
    EVAL_BATCHES_FIELD_NUMBER: _ClassVar[int]
    LOG_INTERVAL_STEPS_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_POLICY_FIELD_NUMBER: _ClassVar[int]
    EARLY_STOPPING_FIELD_NUMBER: _ClassVar[int]
    seed: int
    max_steps: int
    max_epochs: float
    learning_rate: float
    learning_rate_schedule: LearningRateSchedule
    min_learning_rate: float
    warmup_steps: int
    batch_size: int
    weight_decay: float
    max_grad_norm: float
    gradient_accumulation_steps: int
    precision: Precision
    eval_interval_steps: int
    eval_batches: int
    log_interval_steps: int
    checkpoint_policy: CheckpointPolicy
    early_stopping: EarlyStopping
    def __init__(self, seed: _Optional[int] = ..., max_steps: _Optional[int] = ..., max_epochs: _Optional[float] = ..., learning_rate: _Optional[float] = ..., learning_rate_schedule: _Optional[_Union[LearningRateSchedule, str]] = ..., min_learning_rate: _Optional[float] = ..., warmup_steps: _Optional[int] = ..., batch_size: _Optional[int] = ..., weight_decay: _Optional[float] = ..., max_grad_norm: _Optional[float] = ..., gradient_accumulation_steps: _Optional[int] = ..., precision: _Optional[_Union[Precision, str]] = ..., eval_interval_steps: _Optional[int] = ..., eval_batches: _Optional[int] = ..., log_interval_steps: _Optional[int] = ..., checkpoint_policy: _Optional[_Union[CheckpointPolicy, _Mapping]] = ..., early_stopping: _Optional[_Union[EarlyStopping, _Mapping]] = ...) -> None: ...

class CheckpointPolicy(_message.Message):
    __slots__ = ("interval_steps", "keep_last", "keep_best", "best_metric", "best_metric_goal")
    INTERVAL_STEPS_FIELD_NUMBER: _ClassVar[int]
    KEEP_LAST_FIELD_NUMBER: _ClassVar[int]
    KEEP_BEST_FIELD_NUMBER: _ClassVar[int]
    BEST_METRIC_FIELD_NUMBER: _ClassVar[int]
    BEST_METRIC_GOAL_FIELD_NUMBER: _ClassVar[int]
    interval_steps: int
    keep_last: int
    keep_best: int
    best_metric: str
    best_metric_goal: MetricGoal
    def __init__(self, interval_steps: _Optional[int] = ..., keep_last: _Optional[int] = ..., keep_best: _Optional[int] = ..., best_metric: _Optional[str] = ..., best_metric_goal: _Optional[_Union[MetricGoal, str]] = ...) -> None: ...

class EarlyStopping(_message.Message):
    __slots__ = ("metric", "goal", "patience", "min_delta")
    METRIC_FIELD_NUMBER: _ClassVar[int]
    GOAL_FIELD_NUMBER: _ClassVar[int]
    PATIENCE_FIELD_NUMBER: _ClassVar[int]
    MIN_DELTA_FIELD_NUMBER: _ClassVar[int]
    metric: str
    goal: MetricGoal
    patience: int
    min_delta: float
    def __init__(self, metric: _Optional[str] = ..., goal: _Optional[_Union[MetricGoal, str]] = ..., patience: _Optional[int] = ..., min_delta: _Optional[float] = ...) -> None: ...

class SchedulingOptions(_message.Message):
    __slots__ = ("priority", "max_restarts", "world_size", "device_request")
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    MAX_RESTARTS_FIELD_NUMBER: _ClassVar[int]
    WORLD_SIZE_FIELD_NUMBER: _ClassVar[int]
    DEVICE_REQUEST_FIELD_NUMBER: _ClassVar[int]
    priority: int
    max_restarts: int
    world_size: int
    device_request: DeviceRequest
    def __init__(self, priority: _Optional[int] = ..., max_restarts: _Optional[int] = ..., world_size: _Optional[int] = ..., device_request: _Optional[_Union[DeviceRequest, _Mapping]] = ...) -> None: ...

class DeviceRequest(_message.Message):
    __slots__ = ("kind", "device", "min_memory_bytes")
    KIND_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    MIN_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    kind: DeviceKind
    device: str
    min_memory_bytes: int
    def __init__(self, kind: _Optional[_Union[DeviceKind, str]] = ..., device: _Optional[str] = ..., min_memory_bytes: _Optional[int] = ...) -> None: ...

class CausalLmConfig(_message.Message):
    __slots__ = ("tokenizer", "layers", "heads", "embedding_size", "block_size", "dropout", "bias")
    TOKENIZER_FIELD_NUMBER: _ClassVar[int]
    LAYERS_FIELD_NUMBER: _ClassVar[int]
    HEADS_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_SIZE_FIELD_NUMBER: _ClassVar[int]
    BLOCK_SIZE_FIELD_NUMBER: _ClassVar[int]
    DROPOUT_FIELD_NUMBER: _ClassVar[int]
    BIAS_FIELD_NUMBER: _ClassVar[int]
    tokenizer: Tokenizer
    layers: int
    heads: int
    embedding_size: int
    block_size: int
    dropout: float
    bias: bool
    def __init__(self, tokenizer: _Optional[_Union[Tokenizer, str]] = ..., layers: _Optional[int] = ..., heads: _Optional[int] = ..., embedding_size: _Optional[int] = ..., block_size: _Optional[int] = ..., dropout: _Optional[float] = ..., bias: _Optional[bool] = ...) -> None: ...

class NgramLmConfig(_message.Message):
    __slots__ = ("tokenizer", "order", "smoothing", "add_k", "discount")
    class Smoothing(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        SMOOTHING_UNSPECIFIED: _ClassVar[NgramLmConfig.Smoothing]
        SMOOTHING_ADD_K: _ClassVar[NgramLmConfig.Smoothing]
        SMOOTHING_KNESER_NEY: _ClassVar[NgramLmConfig.Smoothing]
    SMOOTHING_UNSPECIFIED: NgramLmConfig.Smoothing
    SMOOTHING_ADD_K: NgramLmConfig.Smoothing
    SMOOTHING_KNESER_NEY: NgramLmConfig.Smoothing
    TOKENIZER_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    SMOOTHING_FIELD_NUMBER: _ClassVar[int]
    ADD_K_FIELD_NUMBER: _ClassVar[int]
    DISCOUNT_FIELD_NUMBER: _ClassVar[int]
    tokenizer: Tokenizer
    order: int
    smoothing: NgramLmConfig.Smoothing
    add_k: float
    discount: float
    def __init__(self, tokenizer: _Optional[_Union[Tokenizer, str]] = ..., order: _Optional[int] = ..., smoothing: _Optional[_Union[NgramLmConfig.Smoothing, str]] = ..., add_k: _Optional[float] = ..., discount: _Optional[float] = ...) -> None: ...

class EmbeddingFinetuneConfig(_message.Message):
    __slots__ = ("base_model", "max_seq_length", "loss", "similarity_scale")
    class Loss(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        LOSS_UNSPECIFIED: _ClassVar[EmbeddingFinetuneConfig.Loss]
        LOSS_MULTIPLE_NEGATIVES_RANKING: _ClassVar[EmbeddingFinetuneConfig.Loss]
    LOSS_UNSPECIFIED: EmbeddingFinetuneConfig.Loss
    LOSS_MULTIPLE_NEGATIVES_RANKING: EmbeddingFinetuneConfig.Loss
    BASE_MODEL_FIELD_NUMBER: _ClassVar[int]
    MAX_SEQ_LENGTH_FIELD_NUMBER: _ClassVar[int]
    LOSS_FIELD_NUMBER: _ClassVar[int]
    SIMILARITY_SCALE_FIELD_NUMBER: _ClassVar[int]
    base_model: str
    max_seq_length: int
    loss: EmbeddingFinetuneConfig.Loss
    similarity_scale: float
    def __init__(self, base_model: _Optional[str] = ..., max_seq_length: _Optional[int] = ..., loss: _Optional[_Union[EmbeddingFinetuneConfig.Loss, str]] = ..., similarity_scale: _Optional[float] = ...) -> None: ...

class ProjectionHeadsConfig(_message.Message):
    __slots__ = ("embedding_model", "temperature", "answer_weight", "projection", "ridge_lambda")
    class Projection(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        PROJECTION_UNSPECIFIED: _ClassVar[ProjectionHeadsConfig.Projection]
        PROJECTION_NONE: _ClassVar[ProjectionHeadsConfig.Projection]
        PROJECTION_RIDGE: _ClassVar[ProjectionHeadsConfig.Projection]
        PROJECTION_LEARNED: _ClassVar[ProjectionHeadsConfig.Projection]
    PROJECTION_UNSPECIFIED: ProjectionHeadsConfig.Projection
    PROJECTION_NONE: ProjectionHeadsConfig.Projection
    PROJECTION_RIDGE: ProjectionHeadsConfig.Projection
    PROJECTION_LEARNED: ProjectionHeadsConfig.Projection
    EMBEDDING_MODEL_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    ANSWER_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    PROJECTION_FIELD_NUMBER: _ClassVar[int]
    RIDGE_LAMBDA_FIELD_NUMBER: _ClassVar[int]
    embedding_model: str
    temperature: float
    answer_weight: float
    projection: ProjectionHeadsConfig.Projection
    ridge_lambda: float
    def __init__(self, embedding_model: _Optional[str] = ..., temperature: _Optional[float] = ..., answer_weight: _Optional[float] = ..., projection: _Optional[_Union[ProjectionHeadsConfig.Projection, str]] = ..., ridge_lambda: _Optional[float] = ...) -> None: ...
