from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class EmbeddingModel(_message.Message):
    __slots__ = ("name", "model_name", "dimension", "max_seq_length", "normalized", "weights_source", "weights_sha256", "used_by_default")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    DIMENSION_FIELD_NUMBER: _ClassVar[int]
    MAX_SEQ_LENGTH_FIELD_NUMBER: _ClassVar[int]
    NORMALIZED_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_SOURCE_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_SHA256_FIELD_NUMBER: _ClassVar[int]
    USED_BY_DEFAULT_FIELD_NUMBER: _ClassVar[int]
    name: str
    model_name: str
    dimension: int
    max_seq_length: int
    normalized: bool
    weights_source: str
    weights_sha256: str
    used_by_default: bool
    def __init__(self, name: _Optional[str] = ..., model_name: _Optional[str] = ..., dimension: _Optional[int] = ..., max_seq_length: _Optional[int] = ..., normalized: _Optional[bool] = ..., weights_source: _Optional[str] = ..., weights_sha256: _Optional[str] = ..., used_by_default: _Optional[bool] = ...) -> None: ...
