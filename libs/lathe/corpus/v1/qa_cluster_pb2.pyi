import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from lathe.corpus.v1 import answer_pb2 as _answer_pb2
from lathe.corpus.v1 import common_pb2 as _common_pb2
from lathe.corpus.v1 import question_pb2 as _question_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class QaCluster(_message.Message):
    __slots__ = ("name", "title", "external_id", "tags", "answers", "questions", "answer_count", "question_count", "source", "origin", "import_batch", "creator", "create_time", "update_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    ANSWERS_FIELD_NUMBER: _ClassVar[int]
    QUESTIONS_FIELD_NUMBER: _ClassVar[int]
    ANSWER_COUNT_FIELD_NUMBER: _ClassVar[int]
    QUESTION_COUNT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    IMPORT_BATCH_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    title: str
    external_id: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    answers: _containers.RepeatedCompositeFieldContainer[_answer_pb2.Answer]
    questions: _containers.RepeatedCompositeFieldContainer[_question_pb2.Question]
    answer_count: int
    question_count: int
    source: str
    origin: _common_pb2.Origin
    import_batch: str
    creator: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., title: _Optional[str] = ..., external_id: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., answers: _Optional[_Iterable[_Union[_answer_pb2.Answer, _Mapping]]] = ..., questions: _Optional[_Iterable[_Union[_question_pb2.Question, _Mapping]]] = ..., answer_count: _Optional[int] = ..., question_count: _Optional[int] = ..., source: _Optional[str] = ..., origin: _Optional[_Union[_common_pb2.Origin, str]] = ..., import_batch: _Optional[str] = ..., creator: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
