import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VersionDeployment(_message.Message):
    __slots__ = ("name", "deployment", "target", "endpoint", "revision", "state", "traffic_percent", "actor", "message", "event_time", "create_time", "update_time")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[VersionDeployment.State]
        STATE_DEPLOYING: _ClassVar[VersionDeployment.State]
        STATE_SERVING: _ClassVar[VersionDeployment.State]
        STATE_FAILED: _ClassVar[VersionDeployment.State]
        STATE_RETIRED: _ClassVar[VersionDeployment.State]
    STATE_UNSPECIFIED: VersionDeployment.State
    STATE_DEPLOYING: VersionDeployment.State
    STATE_SERVING: VersionDeployment.State
    STATE_FAILED: VersionDeployment.State
    STATE_RETIRED: VersionDeployment.State
    NAME_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TRAFFIC_PERCENT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    deployment: str
    target: str
    endpoint: str
    revision: int
    state: VersionDeployment.State
    traffic_percent: int
    actor: str
    message: str
    event_time: _timestamp_pb2.Timestamp
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., deployment: _Optional[str] = ..., target: _Optional[str] = ..., endpoint: _Optional[str] = ..., revision: _Optional[int] = ..., state: _Optional[_Union[VersionDeployment.State, str]] = ..., traffic_percent: _Optional[int] = ..., actor: _Optional[str] = ..., message: _Optional[str] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
