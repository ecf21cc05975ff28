import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.rpc import status_pb2 as _status_pb2
from lathe.deployer.v1 import health_check_pb2 as _health_check_pb2
from lathe.deployer.v1 import target_options_pb2 as _target_options_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DeploymentRevision(_message.Message):
    __slots__ = ("name", "revision_number", "model_version", "requested_model_version", "options", "state", "trigger", "source_revision", "reason", "creator", "create_time", "artifact_sha256", "sha256_verified", "verify_time", "health_check", "serve_start_time", "serve_end_time", "error")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[DeploymentRevision.State]
        STATE_PENDING: _ClassVar[DeploymentRevision.State]
        STATE_VERIFYING: _ClassVar[DeploymentRevision.State]
        STATE_LOADING: _ClassVar[DeploymentRevision.State]
        STATE_HEALTH_CHECKING: _ClassVar[DeploymentRevision.State]
        STATE_CANARY: _ClassVar[DeploymentRevision.State]
        STATE_SERVING: _ClassVar[DeploymentRevision.State]
        STATE_SUPERSEDED: _ClassVar[DeploymentRevision.State]
        STATE_ROLLED_BACK: _ClassVar[DeploymentRevision.State]
        STATE_FAILED: _ClassVar[DeploymentRevision.State]
        STATE_CANCELLED: _ClassVar[DeploymentRevision.State]
    STATE_UNSPECIFIED: DeploymentRevision.State
    STATE_PENDING: DeploymentRevision.State
    STATE_VERIFYING: DeploymentRevision.State
    STATE_LOADING: DeploymentRevision.State
    STATE_HEALTH_CHECKING: DeploymentRevision.State
    STATE_CANARY: DeploymentRevision.State
    STATE_SERVING: DeploymentRevision.State
    STATE_SUPERSEDED: DeploymentRevision.State
    STATE_ROLLED_BACK: DeploymentRevision.State
    STATE_FAILED: DeploymentRevision.State
    STATE_CANCELLED: DeploymentRevision.State
    class Trigger(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        TRIGGER_UNSPECIFIED: _ClassVar[DeploymentRevision.Trigger]
        TRIGGER_CREATE: _ClassVar[DeploymentRevision.Trigger]
        TRIGGER_UPDATE: _ClassVar[DeploymentRevision.Trigger]
        TRIGGER_ROLLBACK: _ClassVar[DeploymentRevision.Trigger]
    TRIGGER_UNSPECIFIED: DeploymentRevision.Trigger
    TRIGGER_CREATE: DeploymentRevision.Trigger
    TRIGGER_UPDATE: DeploymentRevision.Trigger
    TRIGGER_ROLLBACK: DeploymentRevision.Trigger
    NAME_FIELD_NUMBER: _ClassVar[int]
    REVISION_NUMBER_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    SOURCE_REVISION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_SHA256_FIELD_NUMBER: _ClassVar[int]
    SHA256_VERIFIED_FIELD_NUMBER: _ClassVar[int]
    VERIFY_TIME_FIELD_NUMBER: _ClassVar[int]
    HEALTH_CHECK_FIELD_NUMBER: _ClassVar[int]
    SERVE_START_TIME_FIELD_NUMBER: _ClassVar[int]
    SERVE_END_TIME_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    name: str
    revision_number: int
    model_version: str
    requested_model_version: str
    options: _target_options_pb2.TargetOptions
    state: DeploymentRevision.State
    trigger: DeploymentRevision.Trigger
    source_revision: str
    reason: str
    creator: str
    create_time: _timestamp_pb2.Timestamp
    artifact_sha256: str
    sha256_verified: bool
    verify_time: _timestamp_pb2.Timestamp
    health_check: _health_check_pb2.HealthCheckResult
    serve_start_time: _timestamp_pb2.Timestamp
    serve_end_time: _timestamp_pb2.Timestamp
    error: _status_pb2.Status
    def __init__(self, name: _Optional[str] = ..., revision_number: _Optional[int] = ..., model_version: _Optional[str] = ..., requested_model_version: _Optional[str] = ..., options: _Optional[_Union[_target_options_pb2.TargetOptions, _Mapping]] = ..., state: _Optional[_Union[DeploymentRevision.State, str]] = ..., trigger: _Optional[_Union[DeploymentRevision.Trigger, str]] = ..., source_revision: _Optional[str] = ..., reason: _Optional[str] = ..., creator: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., artifact_sha256: _Optional[str] = ..., sha256_verified: _Optional[bool] = ..., verify_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., health_check: _Optional[_Union[_health_check_pb2.HealthCheckResult, _Mapping]] = ..., serve_start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., serve_end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ...) -> None: ...
