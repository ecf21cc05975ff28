import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.rpc import status_pb2 as _status_pb2
from lathe.corpus.v1 import common_pb2 as _common_pb2
from lathe.corpus.v1 import embedding_pb2 as _embedding_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Split(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SPLIT_UNSPECIFIED: _ClassVar[Split]
    SPLIT_TRAIN: _ClassVar[Split]
    SPLIT_VALIDATION: _ClassVar[Split]
    SPLIT_TEST: _ClassVar[Split]

class QaSplitStrategy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    QA_SPLIT_STRATEGY_UNSPECIFIED: _ClassVar[QaSplitStrategy]
    QA_SPLIT_STRATEGY_BY_QUESTION: _ClassVar[QaSplitStrategy]
    QA_SPLIT_STRATEGY_BY_CLUSTER: _ClassVar[QaSplitStrategy]

class TextSplitStrategy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TEXT_SPLIT_STRATEGY_UNSPECIFIED: _ClassVar[TextSplitStrategy]
    TEXT_SPLIT_STRATEGY_BY_DOCUMENT: _ClassVar[TextSplitStrategy]
    TEXT_SPLIT_STRATEGY_TAIL: _ClassVar[TextSplitStrategy]
SPLIT_UNSPECIFIED: Split
SPLIT_TRAIN: Split
SPLIT_VALIDATION: Split
SPLIT_TEST: Split
QA_SPLIT_STRATEGY_UNSPECIFIED: QaSplitStrategy
QA_SPLIT_STRATEGY_BY_QUESTION: QaSplitStrategy
QA_SPLIT_STRATEGY_BY_CLUSTER: QaSplitStrategy
TEXT_SPLIT_STRATEGY_UNSPECIFIED: TextSplitStrategy
TEXT_SPLIT_STRATEGY_BY_DOCUMENT: TextSplitStrategy
TEXT_SPLIT_STRATEGY_TAIL: TextSplitStrategy

class Snapshot(_message.Message):
    __slots__ = ("name", "display_name", "description", "labels", "filter", "split_config", "embedding_models", "state", "error", "content_sha256", "member_list_sha256", "counts", "creator", "create_time", "update_time")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[Snapshot.State]
        STATE_CREATING: _ClassVar[Snapshot.State]
        STATE_READY: _ClassVar[Snapshot.State]
        STATE_FAILED: _ClassVar[Snapshot.State]
    STATE_UNSPECIFIED: Snapshot.State
    STATE_CREATING: Snapshot.State
    STATE_READY: Snapshot.State
    STATE_FAILED: Snapshot.State
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    SPLIT_CONFIG_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_MODELS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CONTENT_SHA256_FIELD_NUMBER: _ClassVar[int]
    MEMBER_LIST_SHA256_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    description: str
    labels: _containers.ScalarMap[str, str]
    filter: str
    split_config: SplitConfig
    embedding_models: _containers.RepeatedScalarFieldContainer[str]
    state: Snapshot.State
    error: _status_pb2.Status
    content_sha256: str
    member_list_sha256: str
    counts: SnapshotCounts
    creator: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., filter: _Optional[str] = ..., split_config: _Optional[_Union[SplitConfig, _Mapping]] = ..., embedding_models: _Optional[_Iterable[str]] = ..., state: _Optional[_Union[Snapshot.State, str]] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ..., content_sha256: _Optional[str] = ..., member_list_sha256: _Optional[str] = ..., counts: _Optional[_Union[SnapshotCounts, _Mapping]] = ..., creator: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SplitConfig(_message.Message):
    __slots__ = ("qa_strategy", "text_strategy", "seed", "validation_fraction", "test_fraction")
    QA_STRATEGY_FIELD_NUMBER: _ClassVar[int]
    TEXT_STRATEGY_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_FRACTION_FIELD_NUMBER: _ClassVar[int]
    TEST_FRACTION_FIELD_NUMBER: _ClassVar[int]
    qa_strategy: QaSplitStrategy
    text_strategy: TextSplitStrategy
    seed: int
    validation_fraction: float
    test_fraction: float
    def __init__(self, qa_strategy: _Optional[_Union[QaSplitStrategy, str]] = ..., text_strategy: _Optional[_Union[TextSplitStrategy, str]] = ..., seed: _Optional[int] = ..., validation_fraction: _Optional[float] = ..., test_fraction: _Optional[float] = ...) -> None: ...

class SplitCounts(_message.Message):
    __slots__ = ("text_count", "character_count", "word_count", "qa_cluster_count", "answer_count", "question_count")
    TEXT_COUNT_FIELD_NUMBER: _ClassVar[int]
    CHARACTER_COUNT_FIELD_NUMBER: _ClassVar[int]
    WORD_COUNT_FIELD_NUMBER: _ClassVar[int]
    QA_CLUSTER_COUNT_FIELD_NUMBER: _ClassVar[int]
    ANSWER_COUNT_FIELD_NUMBER: _ClassVar[int]
    QUESTION_COUNT_FIELD_NUMBER: _ClassVar[int]
    text_count: int
    character_count: int
    word_count: int
    qa_cluster_count: int
    answer_count: int
    question_count: int
    def __init__(self, text_count: _Optional[int] = ..., character_count: _Optional[int] = ..., word_count: _Optional[int] = ..., qa_cluster_count: _Optional[int] = ..., answer_count: _Optional[int] = ..., question_count: _Optional[int] = ...) -> None: ...

class SnapshotCounts(_message.Message):
    __slots__ = ("member_count", "total", "train", "validation", "test", "synthetic_member_count", "content_size_bytes")
    MEMBER_COUNT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    TRAIN_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_FIELD_NUMBER: _ClassVar[int]
    TEST_FIELD_NUMBER: _ClassVar[int]
    SYNTHETIC_MEMBER_COUNT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    member_count: int
    total: SplitCounts
    train: SplitCounts
    validation: SplitCounts
    test: SplitCounts
    synthetic_member_count: int
    content_size_bytes: int
    def __init__(self, member_count: _Optional[int] = ..., total: _Optional[_Union[SplitCounts, _Mapping]] = ..., train: _Optional[_Union[SplitCounts, _Mapping]] = ..., validation: _Optional[_Union[SplitCounts, _Mapping]] = ..., test: _Optional[_Union[SplitCounts, _Mapping]] = ..., synthetic_member_count: _Optional[int] = ..., content_size_bytes: _Optional[int] = ...) -> None: ...

class SplitSpan(_message.Message):
    __slots__ = ("split", "start_offset", "end_offset")
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    START_OFFSET_FIELD_NUMBER: _ClassVar[int]
    END_OFFSET_FIELD_NUMBER: _ClassVar[int]
    split: Split
    start_offset: int
    end_offset: int
    def __init__(self, split: _Optional[_Union[Split, str]] = ..., start_offset: _Optional[int] = ..., end_offset: _Optional[int] = ...) -> None: ...

class SnapshotMember(_message.Message):
    __slots__ = ("entity", "entity_type", "member_sha256", "split", "text", "answer", "question", "embeddings")
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    ENTITY_TYPE_FIELD_NUMBER: _ClassVar[int]
    MEMBER_SHA256_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    EMBEDDINGS_FIELD_NUMBER: _ClassVar[int]
    entity: str
    entity_type: _common_pb2.EntityType
    member_sha256: str
    split: Split
    text: SnapshotText
    answer: SnapshotAnswer
    question: SnapshotQuestion
    embeddings: _containers.RepeatedCompositeFieldContainer[_embedding_pb2.Embedding]
    def __init__(self, entity: _Optional[str] = ..., entity_type: _Optional[_Union[_common_pb2.EntityType, str]] = ..., member_sha256: _Optional[str] = ..., split: _Optional[_Union[Split, str]] = ..., text: _Optional[_Union[SnapshotText, _Mapping]] = ..., answer: _Optional[_Union[SnapshotAnswer, _Mapping]] = ..., question: _Optional[_Union[SnapshotQuestion, _Mapping]] = ..., embeddings: _Optional[_Iterable[_Union[_embedding_pb2.Embedding, _Mapping]]] = ...) -> None: ...

class SnapshotText(_message.Message):
    __slots__ = ("title", "content", "content_offset", "content_length", "content_continues", "split_spans", "source", "origin", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TITLE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_OFFSET_FIELD_NUMBER: _ClassVar[int]
    CONTENT_LENGTH_FIELD_NUMBER: _ClassVar[int]
    CONTENT_CONTINUES_FIELD_NUMBER: _ClassVar[int]
    SPLIT_SPANS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    title: str
    content: str
    content_offset: int
    content_length: int
    content_continues: bool
    split_spans: _containers.RepeatedCompositeFieldContainer[SplitSpan]
    source: str
    origin: _common_pb2.Origin
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, title: _Optional[str] = ..., content: _Optional[str] = ..., content_offset: _Optional[int] = ..., content_length: _Optional[int] = ..., content_continues: _Optional[bool] = ..., split_spans: _Optional[_Iterable[_Union[SplitSpan, _Mapping]]] = ..., source: _Optional[str] = ..., origin: _Optional[_Union[_common_pb2.Origin, str]] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class SnapshotAnswer(_message.Message):
    __slots__ = ("qa_cluster", "content", "position", "external_id", "cluster_title", "origin")
    QA_CLUSTER_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_TITLE_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    qa_cluster: str
    content: str
    position: int
    external_id: str
    cluster_title: str
    origin: _common_pb2.Origin
    def __init__(self, qa_cluster: _Optional[str] = ..., content: _Optional[str] = ..., position: _Optional[int] = ..., external_id: _Optional[str] = ..., cluster_title: _Optional[str] = ..., origin: _Optional[_Union[_common_pb2.Origin, str]] = ...) -> None: ...

class SnapshotQuestion(_message.Message):
    __slots__ = ("qa_cluster", "content", "source", "origin")
    QA_CLUSTER_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    qa_cluster: str
    content: str
    source: str
    origin: _common_pb2.Origin
    def __init__(self, qa_cluster: _Optional[str] = ..., content: _Optional[str] = ..., source: _Optional[str] = ..., origin: _Optional[_Union[_common_pb2.Origin, str]] = ...) -> None: ...
