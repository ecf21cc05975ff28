"""``lathe deploy``, ``lathe deployments``, ``lathe rollback`` and ``lathe infer``: deployments from the shell."""

from __future__ import annotations

import asyncio
import json
import struct
import uuid
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from google.protobuf import json_format
from rich.console import Console
from rich.table import Table

from inference import grpc_predict_v2_pb2 as pb
from inference.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceStub
from lathe.cli.connect import EXIT_FAILED, EXIT_USAGE, HomeOption, channel_to, resolve_home, run
from lathe.deployer.v1 import deployer_service_pb2 as ds
from lathe.deployer.v1 import deployment_pb2
from lathe.deployer.v1.deployer_service_pb2_grpc import DeployerServiceStub

deployer_app = typer.Typer(help="Deploy model versions, list deployments, roll back, run inference.")
console = Console()
err = Console(stderr=True)
D = deployment_pb2.Deployment
TARGETS = {"local": D.TARGET_LOCAL, "kubernetes": D.TARGET_KUBERNETES, "huggingface": D.TARGET_HUGGINGFACE,
           "onnx": D.TARGET_ONNX, "ollama": D.TARGET_OLLAMA}
_SETTLED = (D.STATE_SERVING, D.STATE_FAILED, D.STATE_ROLLED_BACK)


def model_reference(text: str) -> str:
    """``MODEL``, ``MODEL@ALIAS`` or ``MODEL:VERSION`` (or a full name) as a registry name."""
    if text.startswith("models/"):
        return text
    if "@" in text:
        model, alias = text.split("@", 1)
        return f"models/{model}@{alias}"
    if ":" in text:
        model, version = text.split(":", 1)
        return f"models/{model}/versions/{version}"
    return f"models/{text}@latest"


def _state(d: D) -> str:
    return D.State.Name(d.state).removeprefix("STATE_")


@deployer_app.command()
def deploy(
    model: Annotated[str, typer.Argument(help="MODEL, MODEL@ALIAS or MODEL:VERSION (default alias: latest).")],
    target: Annotated[str, typer.Option("--target", "-t", help="local, kubernetes, huggingface, onnx or ollama.")] =
    "local",
    name: Annotated[str, typer.Option("--name", help="Deployment ID (default: derived from the model).")] = "",
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait until the rollout settles.")] = True,
    home: HomeOption = None,
) -> None:
    """Deploy a model version: verify its sha256, load, health-check, then switch traffic."""
    if target not in TARGETS:
        err.print(f"[red]--target must be one of {', '.join(TARGETS)}[/red]")
        raise typer.Exit(EXIT_USAGE)
    suite_home = resolve_home(home)

    async def action() -> D:
        async with channel_to("deployer", suite_home) as channel:
            stub = DeployerServiceStub(channel)
            d = await stub.CreateDeployment(ds.CreateDeploymentRequest(
                deployment_id=name, request_id=str(uuid.uuid4()),
                deployment=D(model_version=model_reference(model), target=TARGETS[target])))
            while wait and d.state not in _SETTLED:
                await asyncio.sleep(0.3)
                d = await stub.GetDeployment(ds.GetDeploymentRequest(name=d.name))
            return d

    d = run(action)
    console.print(f"{d.name}: {_state(d)} {d.resolved_model_version or d.model_version}")
    if d.endpoint.model_name:
        console.print(f"  inference: {d.endpoint.address} model {d.endpoint.model_name}")
    if d.endpoint.export_uri:
        console.print(f"  written to: {d.endpoint.export_uri}")
    if d.error.message:
        err.print(f"[red]{d.error.message}[/red]")
        raise typer.Exit(EXIT_FAILED)


@deployer_app.command()
def deployments(
    filter_: Annotated[str, typer.Option("--filter", help="e.g. state = SERVING AND target = LOCAL")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    home: HomeOption = None,
) -> None:
    """List deployments with their state, version and current revision."""
    suite_home = resolve_home(home)

    async def action() -> list[D]:
        async with channel_to("deployer", suite_home) as channel:
            stub, out, token = DeployerServiceStub(channel), [], ""
            while True:
                page = await stub.ListDeployments(ds.ListDeploymentsRequest(filter=filter_, page_token=token))
                out.extend(page.deployments)
                if not (token := page.next_page_token):
                    return out

    found = run(action)
    if as_json:
        print(json.dumps([json_format.MessageToDict(d, preserving_proto_field_name=True) for d in found], indent=2))
        return
    table = Table("deployment", "target", "state", "version", "revision", "canary")
    for d in found:
        canary = f"{d.canary.revision.rsplit('/', 1)[-1]} ({d.canary.traffic_percent}%)" if d.HasField("canary") else ""
        table.add_row(d.name.removeprefix("deployments/"), D.Target.Name(d.target).removeprefix("TARGET_").lower(),
                      _state(d), d.resolved_model_version, d.current_revision.rsplit("/", 1)[-1], canary)
    console.print(table)


@deployer_app.command()
def rollback(
    deployment: Annotated[str, typer.Argument(help="The deployment ID.")],
    revision: Annotated[int, typer.Option("--revision", help="Return to this revision (default: previous).")] = 0,
    reason: Annotated[str, typer.Option("--reason", help="Why, recorded on the new revision.")] = "",
    home: HomeOption = None,
) -> None:
    """Roll back: withdraw a canary, cancel a rollout, or return to the previous healthy revision."""
    suite_home = resolve_home(home)
    name = f"deployments/{deployment}"

    async def action() -> D:
        async with channel_to("deployer", suite_home) as channel:
            stub = DeployerServiceStub(channel)
            d = await stub.RollbackDeployment(ds.RollbackDeploymentRequest(
                name=name, revision=f"{name}/revisions/{revision}" if revision else "", reason=reason,
                request_id=str(uuid.uuid4())))
            while d.pending_revision:
                await asyncio.sleep(0.3)
                d = await stub.GetDeployment(ds.GetDeploymentRequest(name=name))
            return d

    d = run(action)
    console.print(f"{d.name}: {_state(d)} revision {d.current_revision.rsplit('/', 1)[-1]} "
                  f"({d.resolved_model_version})")


@deployer_app.command()
def infer(
    model: Annotated[str, typer.Argument(help="The deployment ID (the inference model name).")],
    text: Annotated[list[str], typer.Argument(help="Prompt (causal-lm) or texts to embed.")],
    max_tokens: Annotated[int, typer.Option("--max-tokens", help="Tokens to generate.")] = 64,
    temperature: Annotated[float, typer.Option("--temperature")] = 0.8,
    seed: Annotated[int | None, typer.Option("--seed")] = None,
    home: Annotated[Path | None, typer.Option("--home", show_default=False)] = None,
) -> None:
    """Run one inference through the Open Inference Protocol endpoint."""
    suite_home = resolve_home(home)

    async def action() -> pb.ModelInferResponse:
        async with channel_to("deployer", suite_home) as channel:
            stub = GRPCInferenceServiceStub(channel)
            meta = await stub.ModelMetadata(pb.ModelMetadataRequest(name=model))
            request = pb.ModelInferRequest(model_name=model)
            request.inputs.add(name=meta.inputs[0].name, datatype="BYTES", shape=[len(text)])
            request.raw_input_contents.append(b"".join(struct.pack("<I", len(t.encode())) + t.encode() for t in text))
            if meta.inputs[0].name == "prompt":
                request.parameters["max_tokens"].int64_param = max_tokens
                request.parameters["temperature"].double_param = temperature
                if seed is not None:
                    request.parameters["seed"].int64_param = seed
            return await stub.ModelInfer(request)

    response = run(action)
    outputs = {o.name: (o, raw) for o, raw in zip(response.outputs, response.raw_output_contents, strict=True)}
    if "answers" in outputs and "scores" in outputs:
        # projection-heads: the top-k answers of each query with their routing probabilities.
        answers_out, answers_raw = outputs["answers"]
        scores_out, scores_raw = outputs["scores"]
        answers = _strings(answers_raw)
        scores = np.frombuffer(scores_raw, dtype="<f4").reshape(list(scores_out.shape))
        k = int(answers_out.shape[-1])
        for i, query in enumerate(text):
            console.print(f"[bold]{query}[/bold]")
            for rank in range(k):
                console.print(f"  {rank + 1}. {scores[i][rank]:.3f}  {answers[i * k + rank][:100]}")
        return
    out, raw = response.outputs[0], response.raw_output_contents[0]
    if out.datatype == "FP32":
        vectors = np.frombuffer(raw, dtype="<f4").reshape(list(out.shape))
        for line, vector in zip(text, vectors, strict=True):
            console.print(f"{line[:40]!r}: dim {vector.size}, [{', '.join(f'{v:.4f}' for v in vector[:6])}, …]")
        return
    for value in _strings(raw):
        console.print(value)


def _strings(raw: bytes) -> list[str]:
    """The elements of a BYTES tensor in the protocol's raw form (4-byte little-endian length + bytes)."""
    values, offset = [], 0
    while offset < len(raw):
        (length,) = struct.unpack_from("<I", raw, offset)
        values.append(raw[offset + 4:offset + 4 + length].decode(errors="replace"))
        offset += 4 + length
    return values
