import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
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

class ModelVersion(_message.Message):
    __slots__ = ("name", "uid", "version_number", "state", "error", "description", "tags", "creator", "create_time", "update_time", "archive_time", "artifact_uri", "manifest", "metrics", "hyperparameters", "recipe", "architecture", "lineage", "aliases", "active_deployments", "last_verification", "etag")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[ModelVersion.State]
        STATE_PENDING_REGISTRATION: _ClassVar[ModelVersion.State]
        STATE_READY: _ClassVar[ModelVersion.State]
        STATE_FAILED_REGISTRATION: _ClassVar[ModelVersion.State]
        STATE_ARCHIVED: _ClassVar[ModelVersion.State]
    STATE_UNSPECIFIED: ModelVersion.State
    STATE_PENDING_REGISTRATION: ModelVersion.State
    STATE_READY: ModelVersion.State
    STATE_FAILED_REGISTRATION: ModelVersion.State
    STATE_ARCHIVED: ModelVersion.State
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class HyperparametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _struct_pb2.Value
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    VERSION_NUMBER_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ARCHIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_URI_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    HYPERPARAMETERS_FIELD_NUMBER: _ClassVar[int]
    RECIPE_FIELD_NUMBER: _ClassVar[int]
    ARCHITECTURE_FIELD_NUMBER: _ClassVar[int]
    LINEAGE_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_DEPLOYMENTS_FIELD_NUMBER: _ClassVar[int]
    LAST_VERIFICATION_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    version_number: int
    state: ModelVersion.State
    error: _status_pb2.Status
    description: str
    tags: _containers.ScalarMap[str, str]
    creator: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    archive_time: _timestamp_pb2.Timestamp
    artifact_uri: str
    manifest: Manifest
    metrics: _containers.RepeatedCompositeFieldContainer[Metric]
    hyperparameters: _containers.MessageMap[str, _struct_pb2.Value]
    recipe: str
    architecture: Architecture
    lineage: Lineage
    aliases: _containers.RepeatedScalarFieldContainer[str]
    active_deployments: _containers.RepeatedScalarFieldContainer[str]
    last_verification: Verification
    etag: str
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., version_number: _Optional[int] = ..., state: _Optional[_Union[ModelVersion.State, str]] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ..., description: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ..., creator: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., archive_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., artifact_uri: _Optional[str] = ..., manifest: _Optional[_Union[Manifest, _Mapping]] = ..., metrics: _Optional[_Iterable[_Union[Metric, _Mapping]]] = ..., hyperparameters: _Optional[_Mapping[str, _struct_pb2.Value]] = ..., recipe: _Optional[str] = ..., architecture: _Optional[_Union[Architecture, _Mapping]] = ..., lineage: _Optional[_Union[Lineage, _Mapping]] = ..., aliases: _Optional[_Iterable[str]] = ..., active_deployments: _Optional[_Iterable[str]] = ..., last_verification: _Optional[_Union[Verification, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class Manifest(_message.Message):
    __slots__ = ("files", "digest", "total_size_bytes")
    FILES_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    files: _containers.RepeatedCompositeFieldContainer[ManifestFile]
    digest: str
    total_size_bytes: int
    def __init__(self, files: _Optional[_Iterable[_Union[ManifestFile, _Mapping]]] = ..., digest: _Optional[str] = ..., total_size_bytes: _Optional[int] = ...) -> None: ...

class ManifestFile(_message.Message):
    __slots__ = ("path", "size_bytes", "sha256")
    PATH_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    path: str
    size_bytes: int
    sha256: str
    def __init__(self, path: _Optional[str] = ..., size_bytes: _Optional[int] = ..., sha256: _Optional[str] = ...) -> None: ...

class Metric(_message.Message):
    __slots__ = ("key", "value", "step", "split", "measure_time")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    MEASURE_TIME_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: float
    step: int
    split: str
    measure_time: _timestamp_pb2.Timestamp
    def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ..., step: _Optional[int] = ..., split: _Optional[str] = ..., measure_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Architecture(_message.Message):
    __slots__ = ("family", "config", "parameter_count")
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    PARAMETER_COUNT_FIELD_NUMBER: _ClassVar[int]
    family: str
    config: _struct_pb2.Struct
    parameter_count: int
    def __init__(self, family: _Optional[str] = ..., config: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., parameter_count: _Optional[int] = ...) -> None: ...

class Lineage(_message.Message):
    __slots__ = ("snapshot", "snapshot_digest", "training_job", "parent_version", "code_version", "base_model")
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_DIGEST_FIELD_NUMBER: _ClassVar[int]
    TRAINING_JOB_FIELD_NUMBER: _ClassVar[int]
    PARENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    CODE_VERSION_FIELD_NUMBER: _ClassVar[int]
    BASE_MODEL_FIELD_NUMBER: _ClassVar[int]
    snapshot: str
    snapshot_digest: str
    training_job: str
    parent_version: str
    code_version: str
    base_model: str
    def __init__(self, snapshot: _Optional[str] = ..., snapshot_digest: _Optional[str] = ..., training_job: _Optional[str] = ..., parent_version: _Optional[str] = ..., code_version: _Optional[str] = ..., base_model: _Optional[str] = ...) -> None: ...

class Verification(_message.Message):
    __slots__ = ("outcome", "verify_time", "manifest_digest", "checked_file_count", "checked_bytes", "mismatches", "mismatch_count")
    class Outcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        OUTCOME_UNSPECIFIED: _ClassVar[Verification.Outcome]
        OUTCOME_PASSED: _ClassVar[Verification.Outcome]
        OUTCOME_FAILED: _ClassVar[Verification.Outcome]
    OUTCOME_UNSPECIFIED: Verification.Outcome
    OUTCOME_PASSED: Verification.Outcome
    OUTCOME_FAILED: Verification.Outcome
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    VERIFY_TIME_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_DIGEST_FIELD_NUMBER: _ClassVar[int]
    CHECKED_FILE_COUNT_FIELD_NUMBER: _ClassVar[int]
    CHECKED_BYTES_FIELD_NUMBER: _ClassVar[int]
    MISMATCHES_FIELD_NUMBER: _ClassVar[int]
    MISMATCH_COUNT_FIELD_NUMBER: _ClassVar[int]
    outcome: Verification.Outcome
    verify_time: _timestamp_pb2.Timestamp
    manifest_digest: str
    checked_file_count: int
    checked_bytes: int
    mismatches: _containers.RepeatedCompositeFieldContainer[FileMismatch]
    mismatch_count: int
    def __init__(self, outcome: _Optional[_Union[Verification.Outcome, str]] = ..., verify_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., manifest_digest: _Optional[str] = ..., checked_file_count: _Optional[int] = ..., checked_bytes: _Optional[int] = ..., mismatches: _Optional[_Iterable[_Union[FileMismatch, _Mapping]]] = ..., mismatch_count: _Optional[int] = ...) -> None: ...

class FileMismatch(_message.Message):
    __slots__ = ("path", "kind", "expected_size_bytes", "actual_size_bytes", "expected_sha256", "actual_sha256")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[FileMismatch.Kind]
        KIND_MISSING: _ClassVar[FileMismatch.Kind]
        KIND_SIZE_MISMATCH: _ClassVar[FileMismatch.Kind]
        KIND_SHA256_MISMATCH: _ClassVar[FileMismatch.Kind]
    KIND_UNSPECIFIED: FileMismatch.Kind
    KIND_MISSING: FileMismatch.Kind
    KIND_SIZE_MISMATCH: FileMismatch.Kind
    KIND_SHA256_MISMATCH: FileMismatch.Kind
    PATH_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    ACTUAL_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_SHA256_FIELD_NUMBER: _ClassVar[int]
    ACTUAL_SHA256_FIELD_NUMBER: _ClassVar[int]
    path: str
    kind: FileMismatch.Kind
    expected_size_bytes: int
    actual_size_bytes: int
    expected_sha256: str
    actual_sha256: str
    def __init__(self, path: _Optional[str] = ..., kind: _Optional[_Union[FileMismatch.Kind, str]] = ..., expected_size_bytes: _Optional[int] = ..., actual_size_bytes: _Optional[int] = ..., expected_sha256: _Optional[str] = ..., actual_sha256: _Optional[str] = ...) -> None: ...
