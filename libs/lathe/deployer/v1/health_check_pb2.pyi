import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class HealthCheckConfig(_message.Message):
    __slots__ = ("timeout", "period", "probe_text")
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    PROBE_TEXT_FIELD_NUMBER: _ClassVar[int]
    timeout: _duration_pb2.Duration
    period: _duration_pb2.Duration
    probe_text: str
    def __init__(self, timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., period: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., probe_text: _Optional[str] = ...) -> None: ...

class HealthCheckResult(_message.Message):
    __slots__ = ("outcome", "check_time", "latency", "message")
    class Outcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        OUTCOME_UNSPECIFIED: _ClassVar[HealthCheckResult.Outcome]
        OUTCOME_PASSED: _ClassVar[HealthCheckResult.Outcome]
        OUTCOME_FAILED: _ClassVar[HealthCheckResult.Outcome]
        OUTCOME_TIMED_OUT: _ClassVar[HealthCheckResult.Outcome]
        OUTCOME_SKIPPED: _ClassVar[HealthCheckResult.Outcome]
    OUTCOME_UNSPECIFIED: HealthCheckResult.Outcome
    OUTCOME_PASSED: HealthCheckResult.Outcome
    OUTCOME_FAILED: HealthCheckResult.Outcome
    OUTCOME_TIMED_OUT: HealthCheckResult.Outcome
    OUTCOME_SKIPPED: HealthCheckResult.Outcome
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    CHECK_TIME_FIELD_NUMBER: _ClassVar[int]
    LATENCY_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    outcome: HealthCheckResult.Outcome
    check_time: _timestamp_pb2.Timestamp
    latency: _duration_pb2.Duration
    message: str
    def __init__(self, outcome: _Optional[_Union[HealthCheckResult.Outcome, str]] = ..., check_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., latency: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., message: _Optional[str] = ...) -> None: ...
