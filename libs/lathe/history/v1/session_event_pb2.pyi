import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from lathe.history.v1 import session_pb2 as _session_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SessionEvent(_message.Message):
    __slots__ = ("name", "sequence", "event_time", "actor", "kind", "annotation", "correction")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[SessionEvent.Kind]
        KIND_ANNOTATION: _ClassVar[SessionEvent.Kind]
        KIND_CORRECTION: _ClassVar[SessionEvent.Kind]
    KIND_UNSPECIFIED: SessionEvent.Kind
    KIND_ANNOTATION: SessionEvent.Kind
    KIND_CORRECTION: SessionEvent.Kind
    class Annotation(_message.Message):
        __slots__ = ("text", "labels")
        class LabelsEntry(_message.Message):
            __slots__ = ("key", "value")
            KEY_FIELD_NUMBER: _ClassVar[int]
            VALUE_FIELD_NUMBER: _ClassVar[int]
            key: str
            value: str
            def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
        TEXT_FIELD_NUMBER: _ClassVar[int]
        LABELS_FIELD_NUMBER: _ClassVar[int]
        text: str
        labels: _containers.ScalarMap[str, str]
        def __init__(self, text: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...
    class Correction(_message.Message):
        __slots__ = ("session", "update_mask", "reason", "revision")
        SESSION_FIELD_NUMBER: _ClassVar[int]
        UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
        REASON_FIELD_NUMBER: _ClassVar[int]
        REVISION_FIELD_NUMBER: _ClassVar[int]
        session: _session_pb2.Session
        update_mask: _field_mask_pb2.FieldMask
        reason: str
        revision: int
        def __init__(self, session: _Optional[_Union[_session_pb2.Session, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., reason: _Optional[str] = ..., revision: _Optional[int] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ANNOTATION_FIELD_NUMBER: _ClassVar[int]
    CORRECTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    sequence: int
    event_time: _timestamp_pb2.Timestamp
    actor: str
    kind: SessionEvent.Kind
    annotation: SessionEvent.Annotation
    correction: SessionEvent.Correction
    def __init__(self, name: _Optional[str] = ..., sequence: _Optional[int] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., actor: _Optional[str] = ..., kind: _Optional[_Union[SessionEvent.Kind, str]] = ..., annotation: _Optional[_Union[SessionEvent.Annotation, _Mapping]] = ..., correction: _Optional[_Union[SessionEvent.Correction, _Mapping]] = ...) -> None: ...
