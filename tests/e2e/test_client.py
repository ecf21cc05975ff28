"""lathe.client against real servers: auth, paging helpers, typed errors, the blocking client, address resolution."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from pathlib import Path

import pytest

from lathe.client import ClientConfig, InvalidArgument, Lathe, LatheSync, NotFound, Unauthenticated, server_addresses
from lathe.kit.home import Home
from lathe.registry.v1 import model_pb2, model_version_pb2
from lathe.registry.v1 import registry_service_pb2 as rs


def _version(root: Path, recipe: str, loss: float) -> model_version_pb2.ModelVersion:
    root.mkdir(parents=True)
    data = uuid.uuid4().bytes * 4
    (root / "model.safetensors").write_bytes(data)
    version = model_version_pb2.ModelVersion(artifact_uri=root.as_uri(), recipe=recipe)
    version.manifest.files.add(path="model.safetensors", size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
    version.metrics.add(key="validation/loss", value=loss, split="validation")
    return version


async def test_the_async_client_pages_maps_errors_and_authenticates(start_service, tokens, tmp_path) -> None:
    server = await start_service("registry")
    async with Lathe(addresses={"registry": server.address}, token=tokens.alice, home=tmp_path / "none") as lathe:
        await lathe.registry.CreateModel(rs.CreateModelRequest(model_id="tiny", model=model_pb2.Model()))
        for i in range(5):
            await lathe.registry.CreateModelVersion(rs.CreateModelVersionRequest(
                parent="models/tiny", model_version=_version(tmp_path / f"v{i}", "causal-lm", 3.0 - i / 10)))
        # Pages of two: every version once, in order.
        names = [v.name async for v in lathe.iter_versions("tiny", page_size=2)]
        assert names == [f"models/tiny/versions/{n}" for n in range(5, 0, -1)]  # newest first, each once
        best = [v.version_number async for v in lathe.iter_versions(filter="metrics.`validation/loss` < 2.75",
                                                                   page_size=1)]
        assert sorted(best) == [4, 5]
        assert [m.name async for m in lathe.iter_models()] == ["models/tiny"]

        with pytest.raises(NotFound) as missing:
            await lathe.registry.GetModel(rs.GetModelRequest(name="models/nope"))
        assert "nope" in missing.value.message
        with pytest.raises(InvalidArgument) as bad:
            await lathe.registry.ListModels(rs.ListModelsRequest(page_size=-1))
        assert [v.field for v in bad.value.field_violations] == ["page_size"]

    async with Lathe(addresses={"registry": server.address}, token="not-a-token", home=tmp_path / "none") as lathe:
        with pytest.raises(Unauthenticated):
            await lathe.registry.ListModels(rs.ListModelsRequest())


async def test_the_blocking_client_uses_the_homes_admin_token_and_iterates(start_service, tokens, tmp_path) -> None:
    server = await start_service("registry")
    home = Home(tmp_path / "home-with-token")
    home.root.mkdir()
    home.admin_token_file.write_text(tokens.admin + "\n")

    def script() -> tuple[list[str], dict[str, str], str, str]:
        # Ten lines, as a user would write them (blocking; the servers run on this test's loop).
        with LatheSync(addresses={"registry": server.address}, home=home.root) as lathe:
            lathe.registry.CreateModel(rs.CreateModelRequest(model_id="sync", model=model_pb2.Model()))
            for i in range(3):
                lathe.registry.CreateModelVersion(rs.CreateModelVersionRequest(
                    parent="models/sync", model_version=_version(tmp_path / f"s{i}", "ngram-lm", 2.0)))
            names = [v.name for v in lathe.iter_versions("models/sync", page_size=1)]
            health = lathe.health(timeout=1.0)
            try:
                lathe.registry.GetModelVersion(rs.GetModelVersionRequest(name="models/sync/versions/9"))
                missing = ""
            except NotFound as exc:
                missing = exc.reason
            creator = lathe.registry.GetModelVersion(rs.GetModelVersionRequest(name="models/sync@latest")).creator
        return names, health, missing, creator

    names, health, missing, creator = await asyncio.to_thread(script)
    assert names == [f"models/sync/versions/{n}" for n in (3, 2, 1)]
    assert health["registry"] == "SERVING"
    assert missing.endswith("NOT_FOUND")
    assert creator == "admin"  # the home's admin token was presented


def test_addresses_resolve_from_arguments_environment_server_and_home(tmp_path, monkeypatch) -> None:
    home = Home(tmp_path)
    home.suite_file.parent.mkdir(parents=True)
    home.suite_file.write_text('{"services": {"corpus": {"address": "127.0.0.1:6001"}}}')
    home.admin_token_file.write_text("home-token\n")
    for name in ("LATHE_SERVER", "LATHE_TOKEN", "LATHE_CORPUS_ADDRESS", "LATHE_TRAINER_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    config = ClientConfig.resolve(home=tmp_path)
    assert config.addresses["corpus"] == "127.0.0.1:6001" and config.addresses["trainer"] == "127.0.0.1:50052"
    assert config.token == "home-token"
    monkeypatch.setenv("LATHE_SERVER", "lathe.example:7000")
    monkeypatch.setenv("LATHE_TRAINER_ADDRESS", "trainer.example:1")
    monkeypatch.setenv("LATHE_TOKEN", "env-token")
    config = ClientConfig.resolve(home=tmp_path)
    assert config.addresses == {"corpus": "lathe.example:7000", "trainer": "trainer.example:1",
                                "registry": "lathe.example:7002", "history": "lathe.example:7003",
                                "deployer": "lathe.example:7004"}
    assert config.token == "env-token"
    config = ClientConfig.resolve(home=tmp_path, server="other", token="arg", addresses={"history": "h:1"})
    assert config.addresses["trainer"] == "other:50052" and config.addresses["history"] == "h:1"
    assert config.token == "arg"
    assert server_addresses("10.0.0.1")["deployer"] == "10.0.0.1:50055"
    with pytest.raises(ValueError, match="port"):
        server_addresses("host:http")
