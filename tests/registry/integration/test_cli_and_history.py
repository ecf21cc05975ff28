"""`lathe models` against a real registry, and alias moves arriving in a real history service."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from test_versions import write_artifact
from typer.testing import CliRunner

from lathe.cli.app import app
from lathe.history.v1 import history_service_pb2 as hs
from lathe.history.v1.history_service_pb2_grpc import HistoryServiceStub
from lathe.registry.v1 import model_pb2, model_version_pb2
from lathe.registry.v1 import registry_service_pb2 as rs
from lathe.registry.v1.registry_service_pb2_grpc import RegistryServiceStub


async def register(stub: RegistryServiceStub, tmp_path, model: str, loss: float, team: str):
    uri, manifest = write_artifact(tmp_path / f"{model}-{loss}", {"w.bin": str(loss).encode()})
    mv = model_version_pb2.ModelVersion(artifact_uri=uri, manifest=manifest, recipe="causal-lm", tags={"team": team})
    mv.metrics.add(key="val_loss", value=loss)
    return await stub.CreateModelVersion(rs.CreateModelVersionRequest(parent=f"models/{model}", model_version=mv))


async def test_models_commands(start_service, tokens, channel_to, tmp_path):
    server = await start_service("registry")
    stub = RegistryServiceStub(channel_to(server, token=tokens.alice))
    await stub.CreateModel(rs.CreateModelRequest(model_id="gpt", model=model_pb2.Model(description="tiny")))
    await register(stub, tmp_path, "gpt", 1.8, "nlp")
    await register(stub, tmp_path, "gpt", 1.4, "nlp")
    env = {"LATHE_REGISTRY_ADDRESS": server.address, "LATHE_TOKEN": tokens.alice, "COLUMNS": "200",
           "LATHE_HOME": str(tmp_path / "home")}

    def lathe(*args: str):
        return CliRunner().invoke(app, ["models", *args], env=env)

    listed = await asyncio.to_thread(lathe, "--json")
    assert listed.exit_code == 0, listed.output
    assert [m["name"] for m in json.loads(listed.stdout)] == ["models/gpt"], listed.output
    aliased = await asyncio.to_thread(lathe, "alias", "gpt", "production", "2")
    assert aliased.exit_code == 0 and "models/gpt/versions/2" in aliased.output
    shown = await asyncio.to_thread(lathe, "show", "gpt@production")
    assert shown.exit_code == 0 and "models/gpt/versions/2" in shown.output and "val_loss" in shown.output
    found = await asyncio.to_thread(lathe, "search", "metrics.val_loss < 1.6 AND tags.team = 'nlp'", "--json")
    assert [v["name"] for v in json.loads(found.output)] == ["models/gpt/versions/2"]
    compared = await asyncio.to_thread(lathe, "compare", "gpt:1", "gpt:2")
    assert compared.exit_code == 0 and "-0.4" in compared.output
    bad = await asyncio.to_thread(lathe, "search", "metrics.val_loss <")
    assert bad.exit_code == 2 and "filter" in bad.output and "Traceback" not in bad.output
    missing = await asyncio.to_thread(lathe, "show", "nope:1")
    assert missing.exit_code == 3


async def test_alias_moves_reach_history_through_the_outbox(start_service, tokens, channel_to, tmp_path):
    history = await start_service("history")
    registry = await start_service("registry", history_address=history.address, service_token=tokens.service)
    stub = RegistryServiceStub(channel_to(registry, token=tokens.alice))
    await stub.CreateModel(rs.CreateModelRequest(model_id="prod", model=model_pb2.Model()))
    v1 = await register(stub, tmp_path, "prod", 2.0, "nlp")
    v2 = await register(stub, tmp_path, "prod", 1.0, "nlp")
    await stub.SetAlias(rs.SetAliasRequest(model="models/prod", alias="production", version=v1.name))
    between = datetime.now(UTC)
    await asyncio.sleep(0.05)
    await stub.SetAlias(rs.SetAliasRequest(model="models/prod", alias="production", version=v2.name))
    for _ in range(100):
        if not await registry.outbox.pending():
            break
        await asyncio.sleep(0.05)
    assert await registry.outbox.pending() == []
    # Delivering again (as after a crash before the acknowledgement) duplicates nothing in history.
    await registry.outbox.deliver_once()
    reader = HistoryServiceStub(channel_to(history, token=tokens.admin))
    at_between = hs.GetAliasHistoryRequest(model="models/prod", alias="production")
    at_between.read_time.FromDatetime(between)
    assert (await reader.GetAliasHistory(at_between)).current.model_version == v1.name
    now = await reader.GetAliasHistory(hs.GetAliasHistoryRequest(model="models/prod", alias="production"))
    assert now.current.model_version == v2.name
    events = await reader.ListLifecycleEvents(hs.ListLifecycleEventsRequest(filter="model = 'models/prod'"))
    kinds = sorted(e.WhichOneof("payload") for e in events.lifecycle_events)
    assert kinds == ["alias_moved", "alias_moved", "version_registered", "version_registered"]
