import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.rpc import status_pb2 as _status_pb2
from lathe.deployer.v1 import health_check_pb2 as _health_check_pb2
from lathe.deployer.v1 import target_options_pb2 as _target_options_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Deployment(_message.Message):
    __slots__ = ("name", "uid", "model_version", "resolved_model_version", "target", "options", "health_check_config", "state", "current_revision", "pending_revision", "canary", "health", "endpoint", "create_time", "update_time", "creator", "error", "labels", "etag")
    class Target(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        TARGET_UNSPECIFIED: _ClassVar[Deployment.Target]
        TARGET_LOCAL: _ClassVar[Deployment.Target]
        TARGET_KUBERNETES: _ClassVar[Deployment.Target]
        TARGET_HUGGINGFACE: _ClassVar[Deployment.Target]
        TARGET_ONNX: _ClassVar[Deployment.Target]
        TARGET_OLLAMA: _ClassVar[Deployment.Target]
    TARGET_UNSPECIFIED: Deployment.Target
    TARGET_LOCAL: Deployment.Target
    TARGET_KUBERNETES: Deployment.Target
    TARGET_HUGGINGFACE: Deployment.Target
    TARGET_ONNX: Deployment.Target
    TARGET_OLLAMA: Deployment.Target
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[Deployment.State]
        STATE_PENDING: _ClassVar[Deployment.State]
        STATE_VERIFYING: _ClassVar[Deployment.State]
        STATE_LOADING: _ClassVar[Deployment.State]
        STATE_HEALTH_CHECKING: _ClassVar[Deployment.State]
        STATE_SERVING: _ClassVar[Deployment.State]
        STATE_ROLLED_BACK: _ClassVar[Deployment.State]
        STATE_FAILED: _ClassVar[Deployment.State]
        STATE_DELETING: _ClassVar[Deployment.State]
    STATE_UNSPECIFIED: Deployment.State
    STATE_PENDING: Deployment.State
    STATE_VERIFYING: Deployment.State
    STATE_LOADING: Deployment.State
    STATE_HEALTH_CHECKING: Deployment.State
    STATE_SERVING: Deployment.State
    STATE_ROLLED_BACK: Deployment.State
    STATE_FAILED: Deployment.State
    STATE_DELETING: Deployment.State
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    HEALTH_CHECK_CONFIG_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CURRENT_REVISION_FIELD_NUMBER: _ClassVar[int]
    PENDING_REVISION_FIELD_NUMBER: _ClassVar[int]
    CANARY_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    model_version: str
    resolved_model_version: str
    target: Deployment.Target
    options: _target_options_pb2.TargetOptions
    health_check_config: _health_check_pb2.HealthCheckConfig
    state: Deployment.State
    current_revision: str
    pending_revision: str
    canary: Canary
    health: _health_check_pb2.HealthCheckResult
    endpoint: Endpoint
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    creator: str
    error: _status_pb2.Status
    labels: _containers.ScalarMap[str, str]
    etag: str
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., model_version: _Optional[str] = ..., resolved_model_version: _Optional[str] = ..., target: _Optional[_Union[Deployment.Target, str]] = ..., options: _Optional[_Union[_target_options_pb2.TargetOptions, _Mapping]] = ..., health_check_config: _Optional[_Union[_health_check_pb2.HealthCheckConfig, _Mapping]] = ..., state: _Optional[_Union[Deployment.State, str]] = ..., current_revision: _Optional[str] = ..., pending_revision: _Optional[str] = ..., canary: _Optional[_Union[Canary, _Mapping]] = ..., health: _Optional[_Union[_health_check_pb2.HealthCheckResult, _Mapping]] = ..., endpoint: _Optional[_Union[Endpoint, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., creator: _Optional[str] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ..., labels: _Optional[_Mapping[str, str]] = ..., etag: _Optional[str] = ...) -> None: ...

class Canary(_message.Message):
    __slots__ = ("revision", "traffic_percent", "start_time", "health")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    TRAFFIC_PERCENT_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    revision: str
    traffic_percent: int
    start_time: _timestamp_pb2.Timestamp
    health: _health_check_pb2.HealthCheckResult
    def __init__(self, revision: _Optional[str] = ..., traffic_percent: _Optional[int] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., health: _Optional[_Union[_health_check_pb2.HealthCheckResult, _Mapping]] = ...) -> None: ...

class Endpoint(_message.Message):
    __slots__ = ("address", "model_name", "export_uri", "hub_url")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    EXPORT_URI_FIELD_NUMBER: _ClassVar[int]
    HUB_URL_FIELD_NUMBER: _ClassVar[int]
    address: str
    model_name: str
    export_uri: str
    hub_url: str
    def __init__(self, address: _Optional[str] = ..., model_name: _Optional[str] = ..., export_uri: _Optional[str] = ..., hub_url: _Optional[str] = ...) -> None: ...
