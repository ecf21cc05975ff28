"""The Open Inference Protocol v2 servicer (``inference.GRPCInferenceService``) over the serving table.

Models are addressed by deployment ID. Tensors arrive either in ``contents`` or in
``raw_input_contents`` (BYTES elements as 4-byte little-endian length + bytes, as Triton clients send);
outputs are returned in ``raw_output_contents``, which every OIP client decodes.

By model kind: embedding ``texts`` BYTES [n] → ``embeddings`` FP32 [n, dim]; causal-lm and ngram-lm
``prompt`` BYTES [n] (parameters ``max_tokens``, ``temperature``, ``seed``) → ``text_output`` BYTES [n];
projection-heads ``query`` BYTES [n] (parameter ``top_k``, default 5) → ``answer_ids`` (the answers' corpus
entities), ``answers`` (their texts), ``qa_clusters`` BYTES and ``scores`` FP32 (probabilities), each [n, k]
best first, k = min(top_k, the model's answer count); a request naming ``outputs`` gets only those.
"""

from __future__ import annotations

import struct

import grpc
import numpy as np

from inference import grpc_predict_v2_pb2 as pb
from inference import grpc_predict_v2_pb2_grpc
from lathe.kit.auth import ROLE_READER, current_principal
from lathe.kit.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from services.deployer.adapters.runtimes import (
    MAX_NEW_TOKENS,
    MAX_TOP_K,
    GenerateItem,
    Runtime,
    SearchItem,
    SearchResult,
)
from services.deployer.adapters.serving import ServingTable

SERVER_NAME = "lathe-deployer"
SERVER_VERSION = "0.1.0"
MAX_ITEMS = 1024


def decode_bytes(raw: bytes, name: str) -> list[bytes]:
    """Split a raw BYTES tensor into its elements; INVALID_ARGUMENT naming the input if malformed."""
    out, offset = [], 0
    while offset < len(raw):
        if offset + 4 > len(raw):
            raise InvalidArgument.for_field(f"inputs.{name}", f"input {name!r}: truncated BYTES length prefix")
        (length,) = struct.unpack_from("<I", raw, offset)
        offset += 4
        if offset + length > len(raw):
            raise InvalidArgument.for_field(f"inputs.{name}", f"input {name!r}: BYTES element overruns the tensor")
        out.append(raw[offset:offset + length])
        offset += length
    return out


def encode_bytes(items: list[bytes]) -> bytes:
    """The raw form of a BYTES tensor."""
    return b"".join(struct.pack("<I", len(item)) + item for item in items)


def _texts(request: pb.ModelInferRequest, runtime: Runtime) -> list[str]:
    spec = runtime.inputs[0]
    by_name = {t.name: (i, t) for i, t in enumerate(request.inputs)}
    for name in by_name:
        if name != spec.name:
            raise InvalidArgument.for_field(f"inputs.{name}", f"unknown input {name!r}; this model takes "
                                            f"{spec.name!r} ({spec.datatype})")
    if spec.name not in by_name:
        raise InvalidArgument.for_field("inputs", f"missing input {spec.name!r} ({spec.datatype}, shape [n])")
    index, tensor = by_name[spec.name]
    if tensor.datatype != "BYTES":
        raise InvalidArgument.for_field(f"inputs.{spec.name}", f"input {spec.name!r} must be BYTES, not "
                                        f"{tensor.datatype or 'unset'}")
    shape = list(tensor.shape)
    if not (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)) or shape[0] < 1 or shape[0] > MAX_ITEMS:
        raise InvalidArgument.for_field(f"inputs.{spec.name}", f"input {spec.name!r} must have shape [n] (or "
                                        f"[n, 1]) with 1 <= n <= {MAX_ITEMS}, not {shape}")
    if request.raw_input_contents:
        if index >= len(request.raw_input_contents):
            raise InvalidArgument.for_field("raw_input_contents", f"no raw contents for input {spec.name!r}")
        elements = decode_bytes(request.raw_input_contents[index], spec.name)
    else:
        elements = list(tensor.contents.bytes_contents)
    if len(elements) != shape[0]:
        raise InvalidArgument.for_field(f"inputs.{spec.name}", f"input {spec.name!r} has shape {shape} but "
                                        f"{len(elements)} elements")
    try:
        return [e.decode("utf-8") for e in elements]
    except UnicodeDecodeError:
        raise InvalidArgument.for_field(f"inputs.{spec.name}", f"input {spec.name!r} must be UTF-8 text") from None


def _param(request: pb.ModelInferRequest, name: str, kind: str, default: float | int | None):
    if name not in request.parameters:
        return default
    p = request.parameters[name]
    choice = p.WhichOneof("parameter_choice")
    if kind == "int" and choice in ("int64_param", "uint64_param"):
        return getattr(p, choice)
    if kind == "float" and choice in ("double_param", "int64_param"):
        return float(getattr(p, choice))
    raise InvalidArgument.for_field(f"parameters.{name}", f"parameter {name!r} must be "
                                    f"{'an integer' if kind == 'int' else 'a number'}")


def _add_search_outputs(response: pb.ModelInferResponse, found: SearchResult, wanted: set[str]) -> None:
    """The answer-search outputs, ``[n, k]`` each, in the model's output order (only ``wanted`` when given)."""
    shape = list(found.scores.shape)
    tensors = {"answer_ids": found.answer_ids, "answers": found.answers, "qa_clusters": found.qa_clusters}
    for name in ("answer_ids", "answers", "qa_clusters", "scores"):
        if wanted and name not in wanted:
            continue
        if name == "scores":
            response.outputs.add(name=name, datatype="FP32", shape=shape)
            response.raw_output_contents.append(np.ascontiguousarray(found.scores, dtype="<f4").tobytes())
        else:
            response.outputs.add(name=name, datatype="BYTES", shape=shape)
            response.raw_output_contents.append(
                encode_bytes([value.encode("utf-8") for row in tensors[name] for value in row]))


class InferenceServicer(grpc_predict_v2_pb2_grpc.GRPCInferenceServiceServicer):
    """Serves loaded deployments over the Open Inference Protocol v2."""

    def __init__(self, table: ServingTable) -> None:
        self._table = table

    async def ServerLive(self, request: pb.ServerLiveRequest, context: grpc.aio.ServicerContext
                         ) -> pb.ServerLiveResponse:
        current_principal().require_role(ROLE_READER)
        return pb.ServerLiveResponse(live=True)

    async def ServerReady(self, request: pb.ServerReadyRequest, context: grpc.aio.ServicerContext
                          ) -> pb.ServerReadyResponse:
        current_principal().require_role(ROLE_READER)
        # Not ready while the models that served before a restart are still being verified and loaded.
        return pb.ServerReadyResponse(ready=self._table.ready)

    async def ModelReady(self, request: pb.ModelReadyRequest, context: grpc.aio.ServicerContext
                         ) -> pb.ModelReadyResponse:
        current_principal().require_role(ROLE_READER)
        try:
            self._table.route(request.name, request.version)
        except (NotFound, Unavailable, FailedPrecondition):
            return pb.ModelReadyResponse(ready=False)
        return pb.ModelReadyResponse(ready=True)

    async def ServerMetadata(self, request: pb.ServerMetadataRequest, context: grpc.aio.ServicerContext
                             ) -> pb.ServerMetadataResponse:
        current_principal().require_role(ROLE_READER)
        return pb.ServerMetadataResponse(name=SERVER_NAME, version=SERVER_VERSION, extensions=["parameters"])

    async def ModelMetadata(self, request: pb.ModelMetadataRequest, context: grpc.aio.ServicerContext
                            ) -> pb.ModelMetadataResponse:
        current_principal().require_role(ROLE_READER)
        served = self._table.route(request.name, request.version)
        entry = self._table.entry(request.name)
        versions = [str(s.revision) for s in (entry.current, entry.canary) if s is not None] if entry else []
        runtime = served.runtime
        response = pb.ModelMetadataResponse(name=request.name, versions=versions,
                                            platform=runtime.platform or f"pytorch_{runtime.kind}")
        for spec in runtime.inputs:
            response.inputs.add(name=spec.name, datatype=spec.datatype, shape=list(spec.shape))
        for spec in runtime.outputs:
            response.outputs.add(name=spec.name, datatype=spec.datatype, shape=list(spec.shape))
        return response

    async def ModelInfer(self, request: pb.ModelInferRequest, context: grpc.aio.ServicerContext
                         ) -> pb.ModelInferResponse:
        current_principal().require_role(ROLE_READER)
        served = self._table.route(request.model_name, request.model_version)
        runtime = served.runtime
        known = {s.name for s in runtime.outputs}
        for wanted in request.outputs:
            if wanted.name not in known:
                raise InvalidArgument.for_field(f"outputs.{wanted.name}", f"unknown output {wanted.name!r}; this "
                                                f"model returns {sorted(known)}")
        texts = _texts(request, runtime)
        response = pb.ModelInferResponse(model_name=request.model_name, model_version=str(served.revision),
                                         id=request.id)
        if runtime.kind == "embedding":
            vectors: np.ndarray = await runtime.batcher.submit(tuple(texts))
            response.outputs.add(name="embeddings", datatype="FP32", shape=list(vectors.shape))
            response.raw_output_contents.append(np.ascontiguousarray(vectors, dtype="<f4").tobytes())
            return response
        if runtime.kind == "projection-heads":
            top_k = int(_param(request, "top_k", "int", 5))
            if not 1 <= top_k <= MAX_TOP_K:
                raise InvalidArgument.for_field("parameters.top_k", f"must be between 1 and {MAX_TOP_K} (got {top_k})")
            found: SearchResult = await runtime.batcher.submit(SearchItem(tuple(texts), top_k))
            _add_search_outputs(response, found, {w.name for w in request.outputs})
            return response
        max_tokens = int(_param(request, "max_tokens", "int", 32))
        temperature = float(_param(request, "temperature", "float", 1.0))
        seed = _param(request, "seed", "int", None)
        if not 1 <= max_tokens <= MAX_NEW_TOKENS:
            raise InvalidArgument.for_field("parameters.max_tokens", f"must be between 1 and {MAX_NEW_TOKENS}")
        if not 0.0 <= temperature <= 10.0:
            raise InvalidArgument.for_field("parameters.temperature", "must be between 0 and 10")
        if not runtime.generates:
            raise FailedPrecondition(f"{request.model_name} serves a {runtime.kind} model, which ModelInfer cannot run")
        generated = await runtime.batcher.submit(GenerateItem(tuple(texts), max_tokens, temperature, seed))
        response.outputs.add(name="text_output", datatype="BYTES", shape=[len(generated)])
        response.raw_output_contents.append(encode_bytes([g.encode("utf-8") for g in generated]))
        return response
