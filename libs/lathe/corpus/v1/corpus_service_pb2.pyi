import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from lathe.corpus.v1 import common_pb2 as _common_pb2
from lathe.corpus.v1 import embedding_pb2 as _embedding_pb2
from lathe.corpus.v1 import embedding_model_pb2 as _embedding_model_pb2
from lathe.corpus.v1 import import_batch_pb2 as _import_batch_pb2
from lathe.corpus.v1 import qa_cluster_pb2 as _qa_cluster_pb2
from lathe.corpus.v1 import question_pb2 as _question_pb2
from lathe.corpus.v1 import snapshot_pb2 as _snapshot_pb2
from lathe.corpus.v1 import text_pb2 as _text_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TextView(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TEXT_VIEW_UNSPECIFIED: _ClassVar[TextView]
    TEXT_VIEW_BASIC: _ClassVar[TextView]
    TEXT_VIEW_FULL: _ClassVar[TextView]

class QaClusterView(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    QA_CLUSTER_VIEW_UNSPECIFIED: _ClassVar[QaClusterView]
    QA_CLUSTER_VIEW_BASIC: _ClassVar[QaClusterView]
    QA_CLUSTER_VIEW_FULL: _ClassVar[QaClusterView]

class EmbeddingView(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EMBEDDING_VIEW_UNSPECIFIED: _ClassVar[EmbeddingView]
    EMBEDDING_VIEW_BASIC: _ClassVar[EmbeddingView]
    EMBEDDING_VIEW_FULL: _ClassVar[EmbeddingView]

class SnapshotMemberView(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SNAPSHOT_MEMBER_VIEW_UNSPECIFIED: _ClassVar[SnapshotMemberView]
    SNAPSHOT_MEMBER_VIEW_BASIC: _ClassVar[SnapshotMemberView]
    SNAPSHOT_MEMBER_VIEW_FULL: _ClassVar[SnapshotMemberView]

class AddOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ADD_OUTCOME_UNSPECIFIED: _ClassVar[AddOutcome]
    ADD_OUTCOME_CREATED: _ClassVar[AddOutcome]
    ADD_OUTCOME_ALREADY_EXISTS: _ClassVar[AddOutcome]
TEXT_VIEW_UNSPECIFIED: TextView
TEXT_VIEW_BASIC: TextView
TEXT_VIEW_FULL: TextView
QA_CLUSTER_VIEW_UNSPECIFIED: QaClusterView
QA_CLUSTER_VIEW_BASIC: QaClusterView
QA_CLUSTER_VIEW_FULL: QaClusterView
EMBEDDING_VIEW_UNSPECIFIED: EmbeddingView
EMBEDDING_VIEW_BASIC: EmbeddingView
EMBEDDING_VIEW_FULL: EmbeddingView
SNAPSHOT_MEMBER_VIEW_UNSPECIFIED: SnapshotMemberView
SNAPSHOT_MEMBER_VIEW_BASIC: SnapshotMemberView
SNAPSHOT_MEMBER_VIEW_FULL: SnapshotMemberView
ADD_OUTCOME_UNSPECIFIED: AddOutcome
ADD_OUTCOME_CREATED: AddOutcome
ADD_OUTCOME_ALREADY_EXISTS: AddOutcome

class AddTextsRequest(_message.Message):
    __slots__ = ("texts", "request_id", "validate_only")
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    texts: _containers.RepeatedCompositeFieldContainer[_text_pb2.Text]
    request_id: str
    validate_only: bool
    def __init__(self, texts: _Optional[_Iterable[_Union[_text_pb2.Text, _Mapping]]] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class AddTextResult(_message.Message):
    __slots__ = ("index", "outcome", "text")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    index: int
    outcome: AddOutcome
    text: _text_pb2.Text
    def __init__(self, index: _Optional[int] = ..., outcome: _Optional[_Union[AddOutcome, str]] = ..., text: _Optional[_Union[_text_pb2.Text, _Mapping]] = ...) -> None: ...

class AddTextsResponse(_message.Message):
    __slots__ = ("results", "created_count", "existing_count")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    CREATED_COUNT_FIELD_NUMBER: _ClassVar[int]
    EXISTING_COUNT_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[AddTextResult]
    created_count: int
    existing_count: int
    def __init__(self, results: _Optional[_Iterable[_Union[AddTextResult, _Mapping]]] = ..., created_count: _Optional[int] = ..., existing_count: _Optional[int] = ...) -> None: ...

class GetTextRequest(_message.Message):
    __slots__ = ("name", "view")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    name: str
    view: TextView
    def __init__(self, name: _Optional[str] = ..., view: _Optional[_Union[TextView, str]] = ...) -> None: ...

class ListTextsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "filter", "order_by", "view")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    filter: str
    order_by: str
    view: TextView
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ..., order_by: _Optional[str] = ..., view: _Optional[_Union[TextView, str]] = ...) -> None: ...

class ListTextsResponse(_message.Message):
    __slots__ = ("texts", "next_page_token")
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    texts: _containers.RepeatedCompositeFieldContainer[_text_pb2.Text]
    next_page_token: str
    def __init__(self, texts: _Optional[_Iterable[_Union[_text_pb2.Text, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CreateQaClusterRequest(_message.Message):
    __slots__ = ("qa_cluster", "qa_cluster_id", "request_id", "validate_only")
    QA_CLUSTER_FIELD_NUMBER: _ClassVar[int]
    QA_CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    qa_cluster: _qa_cluster_pb2.QaCluster
    qa_cluster_id: str
    request_id: str
    validate_only: bool
    def __init__(self, qa_cluster: _Optional[_Union[_qa_cluster_pb2.QaCluster, _Mapping]] = ..., qa_cluster_id: _Optional[str] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class GetQaClusterRequest(_message.Message):
    __slots__ = ("name", "view")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    name: str
    view: QaClusterView
    def __init__(self, name: _Optional[str] = ..., view: _Optional[_Union[QaClusterView, str]] = ...) -> None: ...

class ListQaClustersRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "filter", "order_by", "view")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    filter: str
    order_by: str
    view: QaClusterView
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ..., order_by: _Optional[str] = ..., view: _Optional[_Union[QaClusterView, str]] = ...) -> None: ...

class ListQaClustersResponse(_message.Message):
    __slots__ = ("qa_clusters", "next_page_token")
    QA_CLUSTERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    qa_clusters: _containers.RepeatedCompositeFieldContainer[_qa_cluster_pb2.QaCluster]
    next_page_token: str
    def __init__(self, qa_clusters: _Optional[_Iterable[_Union[_qa_cluster_pb2.QaCluster, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class AddQuestionsRequest(_message.Message):
    __slots__ = ("qa_cluster", "questions", "request_id", "validate_only")
    QA_CLUSTER_FIELD_NUMBER: _ClassVar[int]
    QUESTIONS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    qa_cluster: str
    questions: _containers.RepeatedCompositeFieldContainer[_question_pb2.Question]
    request_id: str
    validate_only: bool
    def __init__(self, qa_cluster: _Optional[str] = ..., questions: _Optional[_Iterable[_Union[_question_pb2.Question, _Mapping]]] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class AddQuestionResult(_message.Message):
    __slots__ = ("index", "outcome", "question")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    index: int
    outcome: AddOutcome
    question: _question_pb2.Question
    def __init__(self, index: _Optional[int] = ..., outcome: _Optional[_Union[AddOutcome, str]] = ..., question: _Optional[_Union[_question_pb2.Question, _Mapping]] = ...) -> None: ...

class AddQuestionsResponse(_message.Message):
    __slots__ = ("results", "created_count", "existing_count")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    CREATED_COUNT_FIELD_NUMBER: _ClassVar[int]
    EXISTING_COUNT_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[AddQuestionResult]
    created_count: int
    existing_count: int
    def __init__(self, results: _Optional[_Iterable[_Union[AddQuestionResult, _Mapping]]] = ..., created_count: _Optional[int] = ..., existing_count: _Optional[int] = ...) -> None: ...

class ListQuestionsRequest(_message.Message):
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

class ListQuestionsResponse(_message.Message):
    __slots__ = ("questions", "next_page_token")
    QUESTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    questions: _containers.RepeatedCompositeFieldContainer[_question_pb2.Question]
    next_page_token: str
    def __init__(self, questions: _Optional[_Iterable[_Union[_question_pb2.Question, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ImportFilesRequest(_message.Message):
    __slots__ = ("root", "glob", "format", "request_id", "validate_only")
    ROOT_FIELD_NUMBER: _ClassVar[int]
    GLOB_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    root: str
    glob: str
    format: _import_batch_pb2.ImportBatch.Format
    request_id: str
    validate_only: bool
    def __init__(self, root: _Optional[str] = ..., glob: _Optional[str] = ..., format: _Optional[_Union[_import_batch_pb2.ImportBatch.Format, str]] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class ImportFilesResponse(_message.Message):
    __slots__ = ("scan_id", "import_batches", "matched_file_count", "new_file_count", "changed_file_count", "unchanged_file_count", "in_progress_file_count", "unsupported_file_count", "scan_duration")
    SCAN_ID_FIELD_NUMBER: _ClassVar[int]
    IMPORT_BATCHES_FIELD_NUMBER: _ClassVar[int]
    MATCHED_FILE_COUNT_FIELD_NUMBER: _ClassVar[int]
    NEW_FILE_COUNT_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FILE_COUNT_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_FILE_COUNT_FIELD_NUMBER: _ClassVar[int]
    IN_PROGRESS_FILE_COUNT_FIELD_NUMBER: _ClassVar[int]
    UNSUPPORTED_FILE_COUNT_FIELD_NUMBER: _ClassVar[int]
    SCAN_DURATION_FIELD_NUMBER: _ClassVar[int]
    scan_id: str
    import_batches: _containers.RepeatedScalarFieldContainer[str]
    matched_file_count: int
    new_file_count: int
    changed_file_count: int
    unchanged_file_count: int
    in_progress_file_count: int
    unsupported_file_count: int
    scan_duration: _duration_pb2.Duration
    def __init__(self, scan_id: _Optional[str] = ..., import_batches: _Optional[_Iterable[str]] = ..., matched_file_count: _Optional[int] = ..., new_file_count: _Optional[int] = ..., changed_file_count: _Optional[int] = ..., unchanged_file_count: _Optional[int] = ..., in_progress_file_count: _Optional[int] = ..., unsupported_file_count: _Optional[int] = ..., scan_duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class GetImportBatchRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListImportBatchesRequest(_message.Message):
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

class ListImportBatchesResponse(_message.Message):
    __slots__ = ("import_batches", "next_page_token")
    IMPORT_BATCHES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    import_batches: _containers.RepeatedCompositeFieldContainer[_import_batch_pb2.ImportBatch]
    next_page_token: str
    def __init__(self, import_batches: _Optional[_Iterable[_Union[_import_batch_pb2.ImportBatch, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RetryFailedBatchesRequest(_message.Message):
    __slots__ = ("names", "filter", "request_id")
    NAMES_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    names: _containers.RepeatedScalarFieldContainer[str]
    filter: str
    request_id: str
    def __init__(self, names: _Optional[_Iterable[str]] = ..., filter: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RetryFailedBatchesResponse(_message.Message):
    __slots__ = ("import_batches", "more_remaining")
    IMPORT_BATCHES_FIELD_NUMBER: _ClassVar[int]
    MORE_REMAINING_FIELD_NUMBER: _ClassVar[int]
    import_batches: _containers.RepeatedScalarFieldContainer[str]
    more_remaining: bool
    def __init__(self, import_batches: _Optional[_Iterable[str]] = ..., more_remaining: _Optional[bool] = ...) -> None: ...

class GetEmbeddingModelRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListEmbeddingModelsRequest(_message.Message):
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

class ListEmbeddingModelsResponse(_message.Message):
    __slots__ = ("embedding_models", "next_page_token")
    EMBEDDING_MODELS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    embedding_models: _containers.RepeatedCompositeFieldContainer[_embedding_model_pb2.EmbeddingModel]
    next_page_token: str
    def __init__(self, embedding_models: _Optional[_Iterable[_Union[_embedding_model_pb2.EmbeddingModel, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetEmbeddingRequest(_message.Message):
    __slots__ = ("name", "view")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    name: str
    view: EmbeddingView
    def __init__(self, name: _Optional[str] = ..., view: _Optional[_Union[EmbeddingView, str]] = ...) -> None: ...

class ListEmbeddingsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "filter", "order_by", "view")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    filter: str
    order_by: str
    view: EmbeddingView
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ..., order_by: _Optional[str] = ..., view: _Optional[_Union[EmbeddingView, str]] = ...) -> None: ...

class ListEmbeddingsResponse(_message.Message):
    __slots__ = ("embeddings", "next_page_token")
    EMBEDDINGS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    embeddings: _containers.RepeatedCompositeFieldContainer[_embedding_pb2.Embedding]
    next_page_token: str
    def __init__(self, embeddings: _Optional[_Iterable[_Union[_embedding_pb2.Embedding, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ComputeEmbeddingsRequest(_message.Message):
    __slots__ = ("entities", "models", "view")
    ENTITIES_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    entities: _containers.RepeatedScalarFieldContainer[str]
    models: _containers.RepeatedScalarFieldContainer[str]
    view: EmbeddingView
    def __init__(self, entities: _Optional[_Iterable[str]] = ..., models: _Optional[_Iterable[str]] = ..., view: _Optional[_Union[EmbeddingView, str]] = ...) -> None: ...

class ComputeEmbeddingsResponse(_message.Message):
    __slots__ = ("embeddings", "computed_count")
    EMBEDDINGS_FIELD_NUMBER: _ClassVar[int]
    COMPUTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    embeddings: _containers.RepeatedCompositeFieldContainer[_embedding_pb2.Embedding]
    computed_count: int
    def __init__(self, embeddings: _Optional[_Iterable[_Union[_embedding_pb2.Embedding, _Mapping]]] = ..., computed_count: _Optional[int] = ...) -> None: ...

class CreateSnapshotRequest(_message.Message):
    __slots__ = ("snapshot", "snapshot_id", "request_id", "reuse_existing", "validate_only")
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REUSE_EXISTING_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    snapshot: _snapshot_pb2.Snapshot
    snapshot_id: str
    request_id: str
    reuse_existing: bool
    validate_only: bool
    def __init__(self, snapshot: _Optional[_Union[_snapshot_pb2.Snapshot, _Mapping]] = ..., snapshot_id: _Optional[str] = ..., request_id: _Optional[str] = ..., reuse_existing: _Optional[bool] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class GetSnapshotRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListSnapshotsRequest(_message.Message):
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

class ListSnapshotsResponse(_message.Message):
    __slots__ = ("snapshots", "next_page_token")
    SNAPSHOTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    snapshots: _containers.RepeatedCompositeFieldContainer[_snapshot_pb2.Snapshot]
    next_page_token: str
    def __init__(self, snapshots: _Optional[_Iterable[_Union[_snapshot_pb2.Snapshot, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ReadSnapshotRequest(_message.Message):
    __slots__ = ("name", "splits", "entity_types", "embedding_models", "view", "max_message_bytes", "resume_token")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SPLITS_FIELD_NUMBER: _ClassVar[int]
    ENTITY_TYPES_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_MODELS_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    RESUME_TOKEN_FIELD_NUMBER: _ClassVar[int]
    name: str
    splits: _containers.RepeatedScalarFieldContainer[_snapshot_pb2.Split]
    entity_types: _containers.RepeatedScalarFieldContainer[_common_pb2.EntityType]
    embedding_models: _containers.RepeatedScalarFieldContainer[str]
    view: SnapshotMemberView
    max_message_bytes: int
    resume_token: str
    def __init__(self, name: _Optional[str] = ..., splits: _Optional[_Iterable[_Union[_snapshot_pb2.Split, str]]] = ..., entity_types: _Optional[_Iterable[_Union[_common_pb2.EntityType, str]]] = ..., embedding_models: _Optional[_Iterable[str]] = ..., view: _Optional[_Union[SnapshotMemberView, str]] = ..., max_message_bytes: _Optional[int] = ..., resume_token: _Optional[str] = ...) -> None: ...

class ReadSnapshotResponse(_message.Message):
    __slots__ = ("members", "start_index", "total_member_count", "resume_token")
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    START_INDEX_FIELD_NUMBER: _ClassVar[int]
    TOTAL_MEMBER_COUNT_FIELD_NUMBER: _ClassVar[int]
    RESUME_TOKEN_FIELD_NUMBER: _ClassVar[int]
    members: _containers.RepeatedCompositeFieldContainer[_snapshot_pb2.SnapshotMember]
    start_index: int
    total_member_count: int
    resume_token: str
    def __init__(self, members: _Optional[_Iterable[_Union[_snapshot_pb2.SnapshotMember, _Mapping]]] = ..., start_index: _Optional[int] = ..., total_member_count: _Optional[int] = ..., resume_token: _Optional[str] = ...) -> None: ...

class DiffSnapshotsRequest(_message.Message):
    __slots__ = ("base_snapshot", "target_snapshot", "page_size", "page_token", "filter")
    BASE_SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    TARGET_SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    base_snapshot: str
    target_snapshot: str
    page_size: int
    page_token: str
    filter: str
    def __init__(self, base_snapshot: _Optional[str] = ..., target_snapshot: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ...) -> None: ...

class SnapshotDiffEntry(_message.Message):
    __slots__ = ("change", "entity", "entity_type", "member_sha256", "base_split", "target_split")
    class Change(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        CHANGE_UNSPECIFIED: _ClassVar[SnapshotDiffEntry.Change]
        CHANGE_ADDED: _ClassVar[SnapshotDiffEntry.Change]
        CHANGE_REMOVED: _ClassVar[SnapshotDiffEntry.Change]
        CHANGE_SPLIT_CHANGED: _ClassVar[SnapshotDiffEntry.Change]
    CHANGE_UNSPECIFIED: SnapshotDiffEntry.Change
    CHANGE_ADDED: SnapshotDiffEntry.Change
    CHANGE_REMOVED: SnapshotDiffEntry.Change
    CHANGE_SPLIT_CHANGED: SnapshotDiffEntry.Change
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    ENTITY_TYPE_FIELD_NUMBER: _ClassVar[int]
    MEMBER_SHA256_FIELD_NUMBER: _ClassVar[int]
    BASE_SPLIT_FIELD_NUMBER: _ClassVar[int]
    TARGET_SPLIT_FIELD_NUMBER: _ClassVar[int]
    change: SnapshotDiffEntry.Change
    entity: str
    entity_type: _common_pb2.EntityType
    member_sha256: str
    base_split: _snapshot_pb2.Split
    target_split: _snapshot_pb2.Split
    def __init__(self, change: _Optional[_Union[SnapshotDiffEntry.Change, str]] = ..., entity: _Optional[str] = ..., entity_type: _Optional[_Union[_common_pb2.EntityType, str]] = ..., member_sha256: _Optional[str] = ..., base_split: _Optional[_Union[_snapshot_pb2.Split, str]] = ..., target_split: _Optional[_Union[_snapshot_pb2.Split, str]] = ...) -> None: ...

class DiffSnapshotsResponse(_message.Message):
    __slots__ = ("entries", "next_page_token", "added_count", "removed_count", "split_changed_count", "unchanged_count")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ADDED_COUNT_FIELD_NUMBER: _ClassVar[int]
    REMOVED_COUNT_FIELD_NUMBER: _ClassVar[int]
    SPLIT_CHANGED_COUNT_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_COUNT_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[SnapshotDiffEntry]
    next_page_token: str
    added_count: int
    removed_count: int
    split_changed_count: int
    unchanged_count: int
    def __init__(self, entries: _Optional[_Iterable[_Union[SnapshotDiffEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., added_count: _Optional[int] = ..., removed_count: _Optional[int] = ..., split_changed_count: _Optional[int] = ..., unchanged_count: _Optional[int] = ...) -> None: ...

class GetCorpusStatsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ImportBatchStateCount(_message.Message):
    __slots__ = ("state", "count")
    STATE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    state: _import_batch_pb2.ImportBatch.State
    count: int
    def __init__(self, state: _Optional[_Union[_import_batch_pb2.ImportBatch.State, str]] = ..., count: _Optional[int] = ...) -> None: ...

class EmbeddingModelCount(_message.Message):
    __slots__ = ("model", "dimension", "text_count", "answer_count", "question_count")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    DIMENSION_FIELD_NUMBER: _ClassVar[int]
    TEXT_COUNT_FIELD_NUMBER: _ClassVar[int]
    ANSWER_COUNT_FIELD_NUMBER: _ClassVar[int]
    QUESTION_COUNT_FIELD_NUMBER: _ClassVar[int]
    model: str
    dimension: int
    text_count: int
    answer_count: int
    question_count: int
    def __init__(self, model: _Optional[str] = ..., dimension: _Optional[int] = ..., text_count: _Optional[int] = ..., answer_count: _Optional[int] = ..., question_count: _Optional[int] = ...) -> None: ...

class GetCorpusStatsResponse(_message.Message):
    __slots__ = ("text_count", "word_count", "character_count", "text_size_bytes", "synthetic_text_count", "qa_cluster_count", "answer_count", "question_count", "synthetic_question_count", "import_batch_counts", "embedding_counts", "snapshot_count", "latest_snapshot", "read_time")
    TEXT_COUNT_FIELD_NUMBER: _ClassVar[int]
    WORD_COUNT_FIELD_NUMBER: _ClassVar[int]
    CHARACTER_COUNT_FIELD_NUMBER: _ClassVar[int]
    TEXT_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SYNTHETIC_TEXT_COUNT_FIELD_NUMBER: _ClassVar[int]
    QA_CLUSTER_COUNT_FIELD_NUMBER: _ClassVar[int]
    ANSWER_COUNT_FIELD_NUMBER: _ClassVar[int]
    QUESTION_COUNT_FIELD_NUMBER: _ClassVar[int]
    SYNTHETIC_QUESTION_COUNT_FIELD_NUMBER: _ClassVar[int]
    IMPORT_BATCH_COUNTS_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_COUNTS_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_COUNT_FIELD_NUMBER: _ClassVar[int]
    LATEST_SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    READ_TIME_FIELD_NUMBER: _ClassVar[int]
    text_count: int
    word_count: int
    character_count: int
    text_size_bytes: int
    synthetic_text_count: int
    qa_cluster_count: int
    answer_count: int
    question_count: int
    synthetic_question_count: int
    import_batch_counts: _containers.RepeatedCompositeFieldContainer[ImportBatchStateCount]
    embedding_counts: _containers.RepeatedCompositeFieldContainer[EmbeddingModelCount]
    snapshot_count: int
    latest_snapshot: str
    read_time: _timestamp_pb2.Timestamp
    def __init__(self, text_count: _Optional[int] = ..., word_count: _Optional[int] = ..., character_count: _Optional[int] = ..., text_size_bytes: _Optional[int] = ..., synthetic_text_count: _Optional[int] = ..., qa_cluster_count: _Optional[int] = ..., answer_count: _Optional[int] = ..., question_count: _Optional[int] = ..., synthetic_question_count: _Optional[int] = ..., import_batch_counts: _Optional[_Iterable[_Union[ImportBatchStateCount, _Mapping]]] = ..., embedding_counts: _Optional[_Iterable[_Union[EmbeddingModelCount, _Mapping]]] = ..., snapshot_count: _Optional[int] = ..., latest_snapshot: _Optional[str] = ..., read_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SlotValues(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, values: _Optional[_Iterable[str]] = ...) -> None: ...

class QualityFilter(_message.Message):
    __slots__ = ("min_characters", "max_characters", "min_words")
    MIN_CHARACTERS_FIELD_NUMBER: _ClassVar[int]
    MAX_CHARACTERS_FIELD_NUMBER: _ClassVar[int]
    MIN_WORDS_FIELD_NUMBER: _ClassVar[int]
    min_characters: int
    max_characters: int
    min_words: int
    def __init__(self, min_characters: _Optional[int] = ..., max_characters: _Optional[int] = ..., min_words: _Optional[int] = ...) -> None: ...

class SyntheticTextTarget(_message.Message):
    __slots__ = ("title_template", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TITLE_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    title_template: str
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, title_template: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class GenerateSyntheticRequest(_message.Message):
    __slots__ = ("templates", "slot_values", "num_samples", "seed", "allow_duplicates", "quality_filter", "texts", "qa_cluster", "request_id", "validate_only")
    class SlotValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: SlotValues
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[SlotValues, _Mapping]] = ...) -> None: ...
    TEMPLATES_FIELD_NUMBER: _ClassVar[int]
    SLOT_VALUES_FIELD_NUMBER: _ClassVar[int]
    NUM_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    ALLOW_DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FILTER_FIELD_NUMBER: _ClassVar[int]
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    QA_CLUSTER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    templates: _containers.RepeatedScalarFieldContainer[str]
    slot_values: _containers.MessageMap[str, SlotValues]
    num_samples: int
    seed: int
    allow_duplicates: bool
    quality_filter: QualityFilter
    texts: SyntheticTextTarget
    qa_cluster: str
    request_id: str
    validate_only: bool
    def __init__(self, templates: _Optional[_Iterable[str]] = ..., slot_values: _Optional[_Mapping[str, SlotValues]] = ..., num_samples: _Optional[int] = ..., seed: _Optional[int] = ..., allow_duplicates: _Optional[bool] = ..., quality_filter: _Optional[_Union[QualityFilter, _Mapping]] = ..., texts: _Optional[_Union[SyntheticTextTarget, _Mapping]] = ..., qa_cluster: _Optional[str] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class SyntheticSample(_message.Message):
    __slots__ = ("content", "template_index", "slot_values", "outcome", "entity")
    class SlotValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_INDEX_FIELD_NUMBER: _ClassVar[int]
    SLOT_VALUES_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    content: str
    template_index: int
    slot_values: _containers.ScalarMap[str, str]
    outcome: AddOutcome
    entity: str
    def __init__(self, content: _Optional[str] = ..., template_index: _Optional[int] = ..., slot_values: _Optional[_Mapping[str, str]] = ..., outcome: _Optional[_Union[AddOutcome, str]] = ..., entity: _Optional[str] = ...) -> None: ...

class GenerateSyntheticResponse(_message.Message):
    __slots__ = ("samples", "candidate_count", "duplicate_count", "rejected_count", "created_count")
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_COUNT_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_COUNT_FIELD_NUMBER: _ClassVar[int]
    REJECTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    CREATED_COUNT_FIELD_NUMBER: _ClassVar[int]
    samples: _containers.RepeatedCompositeFieldContainer[SyntheticSample]
    candidate_count: int
    duplicate_count: int
    rejected_count: int
    created_count: int
    def __init__(self, samples: _Optional[_Iterable[_Union[SyntheticSample, _Mapping]]] = ..., candidate_count: _Optional[int] = ..., duplicate_count: _Optional[int] = ..., rejected_count: _Optional[int] = ..., created_count: _Optional[int] = ...) -> None: ...
