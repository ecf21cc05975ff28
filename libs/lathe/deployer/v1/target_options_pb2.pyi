import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TargetOptions(_message.Message):
    __slots__ = ("local", "kubernetes", "huggingface", "onnx", "ollama")
    LOCAL_FIELD_NUMBER: _ClassVar[int]
    KUBERNETES_FIELD_NUMBER: _ClassVar[int]
    HUGGINGFACE_FIELD_NUMBER: _ClassVar[int]
    ONNX_FIELD_NUMBER: _ClassVar[int]
    OLLAMA_FIELD_NUMBER: _ClassVar[int]
    local: LocalOptions
    kubernetes: KubernetesOptions
    huggingface: HuggingFaceOptions
    onnx: OnnxOptions
    ollama: OllamaOptions
    def __init__(self, local: _Optional[_Union[LocalOptions, _Mapping]] = ..., kubernetes: _Optional[_Union[KubernetesOptions, _Mapping]] = ..., huggingface: _Optional[_Union[HuggingFaceOptions, _Mapping]] = ..., onnx: _Optional[_Union[OnnxOptions, _Mapping]] = ..., ollama: _Optional[_Union[OllamaOptions, _Mapping]] = ...) -> None: ...

class BatchingOptions(_message.Message):
    __slots__ = ("max_batch_size", "max_queue_delay")
    MAX_BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    MAX_QUEUE_DELAY_FIELD_NUMBER: _ClassVar[int]
    max_batch_size: int
    max_queue_delay: _duration_pb2.Duration
    def __init__(self, max_batch_size: _Optional[int] = ..., max_queue_delay: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class LocalOptions(_message.Message):
    __slots__ = ("device", "batching")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    BATCHING_FIELD_NUMBER: _ClassVar[int]
    device: str
    batching: BatchingOptions
    def __init__(self, device: _Optional[str] = ..., batching: _Optional[_Union[BatchingOptions, _Mapping]] = ...) -> None: ...

class KubernetesOptions(_message.Message):
    __slots__ = ("namespace", "workload", "replicas", "image", "gpu_count", "resource_requests", "resource_limits", "node_selector", "tolerations", "service_account", "labels", "annotations", "batching")
    class Workload(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        WORKLOAD_UNSPECIFIED: _ClassVar[KubernetesOptions.Workload]
        WORKLOAD_DEPLOYMENT: _ClassVar[KubernetesOptions.Workload]
        WORKLOAD_KSERVE_INFERENCE_SERVICE: _ClassVar[KubernetesOptions.Workload]
    WORKLOAD_UNSPECIFIED: KubernetesOptions.Workload
    WORKLOAD_DEPLOYMENT: KubernetesOptions.Workload
    WORKLOAD_KSERVE_INFERENCE_SERVICE: KubernetesOptions.Workload
    class Toleration(_message.Message):
        __slots__ = ("key", "operator", "value", "effect")
        KEY_FIELD_NUMBER: _ClassVar[int]
        OPERATOR_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        EFFECT_FIELD_NUMBER: _ClassVar[int]
        key: str
        operator: str
        value: str
        effect: str
        def __init__(self, key: _Optional[str] = ..., operator: _Optional[str] = ..., value: _Optional[str] = ..., effect: _Optional[str] = ...) -> None: ...
    class ResourceRequestsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class ResourceLimitsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class NodeSelectorEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class AnnotationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    WORKLOAD_FIELD_NUMBER: _ClassVar[int]
    REPLICAS_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    GPU_COUNT_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_LIMITS_FIELD_NUMBER: _ClassVar[int]
    NODE_SELECTOR_FIELD_NUMBER: _ClassVar[int]
    TOLERATIONS_FIELD_NUMBER: _ClassVar[int]
    SERVICE_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    BATCHING_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    workload: KubernetesOptions.Workload
    replicas: int
    image: str
    gpu_count: int
    resource_requests: _containers.ScalarMap[str, str]
    resource_limits: _containers.ScalarMap[str, str]
    node_selector: _containers.ScalarMap[str, str]
    tolerations: _containers.RepeatedCompositeFieldContainer[KubernetesOptions.Toleration]
    service_account: str
    labels: _containers.ScalarMap[str, str]
    annotations: _containers.ScalarMap[str, str]
    batching: BatchingOptions
    def __init__(self, namespace: _Optional[str] = ..., workload: _Optional[_Union[KubernetesOptions.Workload, str]] = ..., replicas: _Optional[int] = ..., image: _Optional[str] = ..., gpu_count: _Optional[int] = ..., resource_requests: _Optional[_Mapping[str, str]] = ..., resource_limits: _Optional[_Mapping[str, str]] = ..., node_selector: _Optional[_Mapping[str, str]] = ..., tolerations: _Optional[_Iterable[_Union[KubernetesOptions.Toleration, _Mapping]]] = ..., service_account: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., batching: _Optional[_Union[BatchingOptions, _Mapping]] = ...) -> None: ...

class HuggingFaceOptions(_message.Message):
    __slots__ = ("output_uri", "hub_repo_id", "hub_private")
    OUTPUT_URI_FIELD_NUMBER: _ClassVar[int]
    HUB_REPO_ID_FIELD_NUMBER: _ClassVar[int]
    HUB_PRIVATE_FIELD_NUMBER: _ClassVar[int]
    output_uri: str
    hub_repo_id: str
    hub_private: bool
    def __init__(self, output_uri: _Optional[str] = ..., hub_repo_id: _Optional[str] = ..., hub_private: _Optional[bool] = ...) -> None: ...

class OnnxOptions(_message.Message):
    __slots__ = ("output_uri", "opset_version", "max_abs_diff")
    OUTPUT_URI_FIELD_NUMBER: _ClassVar[int]
    OPSET_VERSION_FIELD_NUMBER: _ClassVar[int]
    MAX_ABS_DIFF_FIELD_NUMBER: _ClassVar[int]
    output_uri: str
    opset_version: int
    max_abs_diff: float
    def __init__(self, output_uri: _Optional[str] = ..., opset_version: _Optional[int] = ..., max_abs_diff: _Optional[float] = ...) -> None: ...

class OllamaOptions(_message.Message):
    __slots__ = ("output_uri", "model_tag", "quantization", "parameters", "system_prompt")
    class ParametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    OUTPUT_URI_FIELD_NUMBER: _ClassVar[int]
    MODEL_TAG_FIELD_NUMBER: _ClassVar[int]
    QUANTIZATION_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_PROMPT_FIELD_NUMBER: _ClassVar[int]
    output_uri: str
    model_tag: str
    quantization: str
    parameters: _containers.ScalarMap[str, str]
    system_prompt: str
    def __init__(self, output_uri: _Optional[str] = ..., model_tag: _Optional[str] = ..., quantization: _Optional[str] = ..., parameters: _Optional[_Mapping[str, str]] = ..., system_prompt: _Optional[str] = ...) -> None: ...
