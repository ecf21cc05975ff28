"""Projection-heads and n-gram models deployed to the local target and served over the Open Inference
Protocol: a held-out question routes to its cluster's answers with a score, bad inputs name the input, and
an n-gram deployment generates the text the model itself samples for a seed."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import grpc
import numpy as np
import pytest

from inference import grpc_predict_v2_pb2 as pb
from lathe.deployer.v1 import deployment_pb2
from lathe.kit.datasets import datasets_dir
from lathe.ml.ngram import NgramConfig, NgramModel, load_ngram, save_ngram
from lathe.ml.projection_heads import HeadsConfig, ProjectionHeads
from lathe.ml.tokenizers import ByteTokenizer
from tests.deployer.integration.conftest import expect

D = deployment_pb2.Deployment
STACKFAQ = datasets_dir() / "stackfaq.json"
CLUSTERS = 8
# A rephrasing of cluster 0 ("Strikethrough with GitHub Markdown") kept out of training; cluster 3 is the
# same question about Gmail, so routing has to tell the two apart.
HELD_OUT = "Does github support strikethrough letters?"


def split_bytes(raw: bytes) -> list[str]:
    out, offset = [], 0
    while offset < len(raw):
        (length,) = struct.unpack_from("<I", raw, offset)
        out.append(raw[offset + 4:offset + 4 + length].decode())
        offset += 4 + length
    return out


def outputs_of(response: pb.ModelInferResponse) -> dict[str, np.ndarray]:
    out = {}
    for tensor, raw in zip(response.outputs, response.raw_output_contents, strict=True):
        if tensor.datatype == "FP32":
            out[tensor.name] = np.frombuffer(raw, dtype="<f4").reshape(list(tensor.shape))
        else:
            out[tensor.name] = np.array(split_bytes(raw), dtype=object).reshape(list(tensor.shape))
    return out


def search_request(model: str, queries: list[str], top_k: int | None = None, **kwargs) -> pb.ModelInferRequest:
    request = pb.ModelInferRequest(model_name=model, **kwargs)
    tensor = request.inputs.add(name="query", datatype="BYTES", shape=[len(queries)])
    tensor.contents.bytes_contents.extend(q.encode() for q in queries)
    if top_k is not None:
        request.parameters["top_k"].int64_param = top_k
    return request


@pytest.fixture(scope="session")
def heads_folder(tmp_path_factory, minilm) -> Path:
    """Projection heads fitted on the first StackFAQ clusters embedded with MiniLM (one question held out)."""
    pairs = json.loads(STACKFAQ.read_text())["root"]["qapair"][:CLUSTERS]
    heads = [f"qaClusters/faq-{i}" for i in range(len(pairs))]
    questions, question_heads, answer_info, answer_heads = [], [], [], []
    for i, pair in enumerate(pairs):
        for text in [pair["question"], *pair["rephr"]]:
            if text.strip() not in ("", "*", HELD_OUT):
                questions.append(text)
                question_heads.append(i)
        for j, answer in enumerate(pair["answer"]):
            answer_info.append({"entity": f"answers/faq-{i}-{j}", "qa_cluster": heads[i], "content": answer})
            answer_heads.append(i)
    embed = lambda texts: minilm.encode(texts, convert_to_numpy=True, show_progress_bar=False)  # noqa: E731
    model = ProjectionHeads.fit(
        HeadsConfig(dimension=384, projection="ridge", embedding_model="embeddingModels/all-minilm-l6-v2"),
        question_embeddings=embed(questions), question_heads=np.array(question_heads),
        answer_embeddings=embed([a["content"] for a in answer_info]), answer_heads=np.array(answer_heads),
        heads=heads, answer_info=answer_info)
    folder = tmp_path_factory.mktemp("heads") / "model"
    model.save(folder)
    return folder


@pytest.fixture(scope="session")
def ngram_folder(tmp_path_factory) -> Path:
    """A trigram byte model of a small repetitive text."""
    text = "the cat sat on the mat. the dog sat on the log. a cat and a dog met on the mat. " * 20
    model = NgramModel.fit(NgramConfig(vocab_size=256, order=3), np.frombuffer(text.encode(), dtype=np.uint8))
    folder = tmp_path_factory.mktemp("ngram") / "model"
    save_ngram(folder, model, ByteTokenizer())
    return folder


async def test_a_projection_heads_model_answers_a_held_out_question_with_its_cluster(suite, heads_folder, minilm):
    version = await suite.register("faq-heads", heads_folder, "projection-heads")
    await suite.create("faq", version.name)
    d = await suite.settle("deployments/faq")
    assert d.state == D.STATE_SERVING, d.error
    assert (await suite.infer.ModelReady(pb.ModelReadyRequest(name="faq"))).ready

    meta = await suite.infer.ModelMetadata(pb.ModelMetadataRequest(name="faq"))
    assert [(t.name, t.datatype, list(t.shape)) for t in meta.inputs] == [("query", "BYTES", [-1])]
    assert [(t.name, t.datatype) for t in meta.outputs] == [
        ("answer_ids", "BYTES"), ("answers", "BYTES"), ("qa_clusters", "BYTES"), ("scores", "FP32")]

    response = await suite.infer.ModelInfer(search_request("faq", [HELD_OUT, "How do I delete my Facebook account?"],
                                                           top_k=3))
    out = outputs_of(response)
    assert out["scores"].shape == out["answer_ids"].shape == out["answers"].shape == (2, 3)
    assert out["qa_clusters"][0, 0] == "qaClusters/faq-0" and out["answer_ids"][0, 0].startswith("answers/faq-0-")
    assert out["answers"][0, 0] in ("Use ~~tildes around the words~~.",
                                    "I just used the following syntax  <del> ... </del>   successfully on GitHub in "
                                    "an issue description.")
    assert out["qa_clusters"][1, 0] == "qaClusters/faq-1"
    assert np.all(np.diff(out["scores"], axis=1) <= 0) and 0 < out["scores"].sum(axis=1).max() <= 1.0 + 1e-5
    # The served scores are the model's own, for the query embedded by its base encoder.
    local = ProjectionHeads.load(heads_folder).search(minilm.encode([HELD_OUT]), 3)[0]
    np.testing.assert_allclose(out["scores"][0], [h["score"] for h in local], rtol=1e-4, atol=1e-6)
    assert list(out["answer_ids"][0]) == [h["entity"] for h in local]

    # top_k defaults to 5; asking only for some outputs returns only those.
    only = await suite.infer.ModelInfer(search_request(
        "faq", [HELD_OUT], outputs=[pb.ModelInferRequest.InferRequestedOutputTensor(name="scores")]))
    assert [(t.name, list(t.shape)) for t in only.outputs] == [("scores", [1, 5])]


async def test_bad_search_inputs_name_the_input_and_export_targets_refuse(suite, heads_folder, ngram_folder):
    version = await suite.register("faq-heads", heads_folder, "projection-heads")
    await suite.create("faq", version.name)
    assert (await suite.settle("deployments/faq")).state == D.STATE_SERVING

    wrong_name = pb.ModelInferRequest(model_name="faq")
    wrong_name.inputs.add(name="texts", datatype="BYTES", shape=[1]).contents.bytes_contents.append(b"hi")
    wrong_type = pb.ModelInferRequest(model_name="faq")
    wrong_type.inputs.add(name="query", datatype="FP32", shape=[1]).contents.fp32_contents.append(1.0)
    wrong_shape = search_request("faq", ["a", "b"])
    wrong_shape.inputs[0].shape[:] = [3]
    fractional_k = search_request("faq", ["a"])
    fractional_k.parameters["top_k"].double_param = 2.5
    cases = [(wrong_name, "inputs.texts"), (wrong_type, "inputs.query"), (wrong_shape, "inputs.query"),
             (search_request("faq", ["a"], top_k=0), "parameters.top_k"), (fractional_k, "parameters.top_k"),
             (search_request("faq", ["a"], outputs=[pb.ModelInferRequest.InferRequestedOutputTensor(name="text")]),
              "outputs.text")]
    for request, field in cases:
        error = await expect(suite.infer.ModelInfer(request), grpc.StatusCode.INVALID_ARGUMENT)
        assert error.field_violations[0].field == field, (field, error.message)

    # Neither kind has a Hugging Face, ONNX or Ollama format: the export targets refuse before any rollout.
    ngram = await suite.register("byte-trigram", ngram_folder, "ngram-lm")
    for target in (D.TARGET_ONNX, D.TARGET_HUGGINGFACE, D.TARGET_OLLAMA):
        for name in (version.name, ngram.name):
            error = await expect(suite.create("export", name, target), grpc.StatusCode.FAILED_PRECONDITION)
            assert error.reason == "TARGET_KIND_UNSUPPORTED" and "local or kubernetes" in error.message


async def test_an_ngram_deployment_generates_what_the_model_samples_for_a_seed(suite, ngram_folder):
    version = await suite.register("byte-trigram", ngram_folder, "ngram-lm")
    await suite.create("trigram", version.name)
    d = await suite.settle("deployments/trigram")
    assert d.state == D.STATE_SERVING, d.error
    meta = await suite.infer.ModelMetadata(pb.ModelMetadataRequest(name="trigram"))
    assert [t.name for t in meta.inputs] == ["prompt"] and [t.name for t in meta.outputs] == ["text_output"]

    def request(seed: int, temperature: float = 0.8) -> pb.ModelInferRequest:
        r = pb.ModelInferRequest(model_name="trigram")
        r.inputs.add(name="prompt", datatype="BYTES", shape=[2]).contents.bytes_contents.extend([b"the c", b"a d"])
        r.parameters["max_tokens"].int64_param = 24
        r.parameters["temperature"].double_param = temperature
        r.parameters["seed"].int64_param = seed
        return r

    first = split_bytes((await suite.infer.ModelInfer(request(11))).raw_output_contents[0])
    again = split_bytes((await suite.infer.ModelInfer(request(11))).raw_output_contents[0])
    model, tokenizer = load_ngram(ngram_folder)
    expected = [tokenizer.decode(model.generate(tokenizer.encode(p), 24, temperature=0.8, seed=11))
                for p in ("the c", "a d")]
    assert first == again == expected and all(len(t) == 24 for t in first)
    greedy = split_bytes((await suite.infer.ModelInfer(request(1, temperature=0.0))).raw_output_contents[0])
    assert greedy[0].startswith("at ")  # "the c" -> "the cat ..." is the only continuation in the text
    error = await expect(suite.infer.ModelInfer(request(1, temperature=-1)), grpc.StatusCode.INVALID_ARGUMENT)
    assert error.field_violations[0].field == "parameters.temperature"
