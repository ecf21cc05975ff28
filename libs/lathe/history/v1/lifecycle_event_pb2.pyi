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

class LifecycleEvent(_message.Message):
    __slots__ = ("name", "kind", "event_time", "create_time", "source", "actor", "model", "version_registered", "alias_moved", "deployed", "rolled_back", "deleted")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[LifecycleEvent.Kind]
        KIND_VERSION_REGISTERED: _ClassVar[LifecycleEvent.Kind]
        KIND_ALIAS_MOVED: _ClassVar[LifecycleEvent.Kind]
        KIND_DEPLOYED: _ClassVar[LifecycleEvent.Kind]
        KIND_ROLLED_BACK: _ClassVar[LifecycleEvent.Kind]
        KIND_DELETED: _ClassVar[LifecycleEvent.Kind]
    KIND_UNSPECIFIED: LifecycleEvent.Kind
    KIND_VERSION_REGISTERED: LifecycleEvent.Kind
    KIND_ALIAS_MOVED: LifecycleEvent.Kind
    KIND_DEPLOYED: LifecycleEvent.Kind
    KIND_ROLLED_BACK: LifecycleEvent.Kind
    KIND_DELETED: LifecycleEvent.Kind
    class VersionRegistered(_message.Message):
        __slots__ = ("model_version", "training_job")
        MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
        TRAINING_JOB_FIELD_NUMBER: _ClassVar[int]
        model_version: str
        training_job: str
        def __init__(self, model_version: _Optional[str] = ..., training_job: _Optional[str] = ...) -> None: ...
    class AliasMoved(_message.Message):
        __slots__ = ("alias", "previous_version", "new_version")
        ALIAS_FIELD_NUMBER: _ClassVar[int]
        PREVIOUS_VERSION_FIELD_NUMBER: _ClassVar[int]
        NEW_VERSION_FIELD_NUMBER: _ClassVar[int]
        alias: str
        previous_version: str
        new_version: str
        def __init__(self, alias: _Optional[str] = ..., previous_version: _Optional[str] = ..., new_version: _Optional[str] = ...) -> None: ...
    class Deployed(_message.Message):
        __slots__ = ("deployment", "model_version", "revision", "target", "traffic_percent")
        DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
        MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
        REVISION_FIELD_NUMBER: _ClassVar[int]
        TARGET_FIELD_NUMBER: _ClassVar[int]
        TRAFFIC_PERCENT_FIELD_NUMBER: _ClassVar[int]
        deployment: str
        model_version: str
        revision: str
        target: str
        traffic_percent: int
        def __init__(self, deployment: _Optional[str] = ..., model_version: _Optional[str] = ..., revision: _Optional[str] = ..., target: _Optional[str] = ..., traffic_percent: _Optional[int] = ...) -> None: ...
    class RolledBack(_message.Message):
        __slots__ = ("deployment", "from_version", "to_version", "to_revision", "automatic", "reason")
        DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
        FROM_VERSION_FIELD_NUMBER: _ClassVar[int]
        TO_VERSION_FIELD_NUMBER: _ClassVar[int]
        TO_REVISION_FIELD_NUMBER: _ClassVar[int]
        AUTOMATIC_FIELD_NUMBER: _ClassVar[int]
        REASON_FIELD_NUMBER: _ClassVar[int]
        deployment: str
        from_version: str
        to_version: str
        to_revision: str
        automatic: bool
        reason: str
        def __init__(self, deployment: _Optional[str] = ..., from_version: _Optional[str] = ..., to_version: _Optional[str] = ..., to_revision: _Optional[str] = ..., automatic: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...
    class Deleted(_message.Message):
        __slots__ = ("resource", "forced")
        RESOURCE_FIELD_NUMBER: _ClassVar[int]
        FORCED_FIELD_NUMBER: _ClassVar[int]
        resource: str
        forced: bool
        def __init__(self, resource: _Optional[str] = ..., forced: _Optional[bool] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    VERSION_REGISTERED_FIELD_NUMBER: _ClassVar[int]
    ALIAS_MOVED_FIELD_NUMBER: _ClassVar[int]
    DEPLOYED_FIELD_NUMBER: _ClassVar[int]
    ROLLED_BACK_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: LifecycleEvent.Kind
    event_time: _timestamp_pb2.Timestamp
    create_time: _timestamp_pb2.Timestamp
    source: str
    actor: str
    model: str
    version_registered: LifecycleEvent.VersionRegistered
    alias_moved: LifecycleEvent.AliasMoved
    deployed: LifecycleEvent.Deployed
    rolled_back: LifecycleEvent.RolledBack
    deleted: LifecycleEvent.Deleted
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[_Union[LifecycleEvent.Kind, str]] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[str] = ..., actor: _Optional[str] = ..., model: _Optional[str] = ..., version_registered: _Optional[_Union[LifecycleEvent.VersionRegistered, _Mapping]] = ..., alias_moved: _Optional[_Union[LifecycleEvent.AliasMoved, _Mapping]] = ..., deployed: _Optional[_Union[LifecycleEvent.Deployed, _Mapping]] = ..., rolled_back: _Optional[_Union[LifecycleEvent.RolledBack, _Mapping]] = ..., deleted: _Optional[_Union[LifecycleEvent.Deleted, _Mapping]] = ...) -> None: ...
