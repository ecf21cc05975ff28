from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class Origin(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORIGIN_UNSPECIFIED: _ClassVar[Origin]
    ORIGIN_API: _ClassVar[Origin]
    ORIGIN_IMPORT: _ClassVar[Origin]
    ORIGIN_SYNTHETIC: _ClassVar[Origin]

class EntityType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENTITY_TYPE_UNSPECIFIED: _ClassVar[EntityType]
    ENTITY_TYPE_TEXT: _ClassVar[EntityType]
    ENTITY_TYPE_ANSWER: _ClassVar[EntityType]
    ENTITY_TYPE_QUESTION: _ClassVar[EntityType]
ORIGIN_UNSPECIFIED: Origin
ORIGIN_API: Origin
ORIGIN_IMPORT: Origin
ORIGIN_SYNTHETIC: Origin
ENTITY_TYPE_UNSPECIFIED: EntityType
ENTITY_TYPE_TEXT: EntityType
ENTITY_TYPE_ANSWER: EntityType
ENTITY_TYPE_QUESTION: EntityType
