"""Model versions through the real registry server and stub: numbering, idempotency, search, aliases,
compare, integrity and deployment records, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from google.protobuf import field_mask_pb2, struct_pb2

from lathe.history.v1 import history_service_pb2
from lathe.kit.errors import from_rpc_error
from lathe.registry.v1 import model_pb2, model_version_pb2, version_deployment_pb2
from lathe.registry.v1 import registry_service_pb2 as rs
from lathe.registry.v1.registry_service_pb2_grpc import RegistryServiceStub

MV = model_version_pb2.ModelVersion
VD = version_deployment_pb2.VersionDeployment


def write_artifact(root: Path, files: dict[str, bytes]) -> tuple[str, model_version_pb2.Manifest]:
    """A folder of files and its manifest."""
    root.mkdir(parents=True, exist_ok=True)
    manifest = model_version_pb2.Manifest()
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
        manifest.files.add(path=path, size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
    return root.as_uri(), manifest


@pytest.fixture
async def registry(start_service, tokens, channel_to, tmp_path):
    server = await start_service("registry")
    counter = iter(range(10**6))

    def stub(token: str | None = tokens.alice) -> RegistryServiceStub:
        return RegistryServiceStub(channel_to(server, token=token))

    async def model(model_id: str) -> None:
        await stub().CreateModel(rs.CreateModelRequest(model_id=model_id, model=model_pb2.Model()))

    async def version(model_id: str, *, metrics: dict[str, float] | None = None, tags: dict[str, str] | None = None,
                      params: dict[str, object] | None = None, recipe: str = "causal-lm", request_id: str = "",
                      snapshot: str = "", **fields) -> MV:
        uri, manifest = write_artifact(tmp_path / "artifacts" / f"a{next(counter)}",
                                       {"model.safetensors": uuid.uuid4().bytes * 8, "config.json": b"{}"})
        mv = MV(artifact_uri=uri, manifest=manifest, recipe=recipe, tags=tags or {}, **fields)
        for key, value in (metrics or {}).items():
            mv.metrics.add(key=key, value=value, split="validation")
        for key, value in (params or {}).items():
            mv.hyperparameters[key].CopyFrom(_value(value))
        if snapshot:
            mv.lineage.snapshot = snapshot
        return await stub().CreateModelVersion(rs.CreateModelVersionRequest(
            parent=f"models/{model_id}", model_version=mv, request_id=request_id))

    stub.model, stub.version, stub.server = model, version, server  # type: ignore[attr-defined]
    return stub


def _value(value: object) -> struct_pb2.Value:
    out = struct_pb2.Value()
    if isinstance(value, bool):
        out.bool_value = value
    elif isinstance(value, (int, float)):
        out.number_value = value
    else:
        out.string_value = str(value)
    return out


async def expect_error(call, code: grpc.StatusCode):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    assert caught.value.code() == code, caught.value.details()
    return from_rpc_error(caught.value)


async def test_a_registered_version_reads_back_ready_with_its_manifest_and_metrics(registry):
    await registry.model("gpt")
    created = await registry.version("gpt", metrics={"val_loss": 1.42}, tags={"team": "nlp"},
                                     params={"lr": 0.001, "layers": 4, "tokenizer": "char"},
                                     snapshot="snapshots/s1", description="first")
    assert created.name == "models/gpt/versions/1" and created.version_number == 1
    assert created.state == MV.STATE_READY
    assert created.last_verification.outcome == model_version_pb2.Verification.OUTCOME_PASSED
    assert created.manifest.digest.startswith("sha256:") and created.manifest.total_size_bytes == 130
    fetched = await registry().GetModelVersion(rs.GetModelVersionRequest(name="models/gpt/versions/1"))
    assert fetched == created
    assert {m.key: m.value for m in fetched.metrics} == {"val_loss": 1.42}
    assert fetched.hyperparameters["layers"].number_value == 4
    assert fetched.creator == "alice" and fetched.lineage.snapshot == "snapshots/s1"
    basic = (await registry().ListModelVersions(rs.ListModelVersionsRequest(parent="models/gpt"))).model_versions[0]
    assert not basic.manifest.files and basic.manifest.digest == created.manifest.digest


async def test_invalid_versions_are_refused_naming_the_field_and_nothing_is_stored(registry, tmp_path):
    await registry.model("bad")
    uri, manifest = write_artifact(tmp_path / "x", {"w.bin": b"w"})
    cases = [
        (MV(artifact_uri=uri, manifest=manifest), "model_version.recipe"),
        (MV(artifact_uri="gs://bucket/x", manifest=manifest, recipe="r"), "model_version.artifact_uri"),
        (MV(artifact_uri=uri, recipe="r"), "model_version.manifest.files"),
        (MV(artifact_uri=uri, recipe="r", manifest=model_version_pb2.Manifest(
            files=[model_version_pb2.ManifestFile(path="../etc/passwd", size_bytes=1, sha256="a" * 64)])),
         "model_version.manifest.files[0].path"),
        (MV(artifact_uri=uri, recipe="r", manifest=model_version_pb2.Manifest(
            files=manifest.files, digest="sha256:" + "0" * 64)), "model_version.manifest.digest"),
        (MV(artifact_uri=uri, recipe="r", manifest=manifest,
            metrics=[model_version_pb2.Metric(key="loss", value=float("nan"))]), "model_version.metrics[0].value"),
    ]
    for mv, field in cases:
        error = await expect_error(registry().CreateModelVersion(
            rs.CreateModelVersionRequest(parent="models/bad", model_version=mv)), grpc.StatusCode.INVALID_ARGUMENT)
        assert field in [v.field for v in error.field_violations], (field, error)
    listed = await registry().ListModelVersions(rs.ListModelVersionsRequest(parent="models/bad"))
    assert list(listed.model_versions) == []
    model = await registry().GetModel(rs.GetModelRequest(name="models/bad"))
    assert model.latest_version_number == 0


async def test_sixteen_concurrent_creators_get_dense_unique_numbers(registry):
    await registry.model("busy")
    versions = await asyncio.gather(*(registry.version("busy") for _ in range(16)))
    assert sorted(v.version_number for v in versions) == list(range(1, 17))
    model = await registry().GetModel(rs.GetModelRequest(name="models/busy"))
    assert model.latest_version_number == 16


async def test_a_retry_with_the_same_request_id_returns_the_first_version(registry, tmp_path):
    await registry.model("idem")
    uri, manifest = write_artifact(tmp_path / "idem", {"w.bin": b"weights"})
    request = rs.CreateModelVersionRequest(parent="models/idem", request_id=str(uuid.uuid4()),
                                           model_version=MV(artifact_uri=uri, manifest=manifest, recipe="ngram-lm"))
    results = await asyncio.gather(*(registry().CreateModelVersion(request) for _ in range(4)),
                                   return_exceptions=True)
    created = [r for r in results if isinstance(r, MV)]
    assert created and all(c == created[0] for c in created), results
    assert all(r.code() == grpc.StatusCode.ABORTED for r in results if not isinstance(r, MV))
    assert await registry().CreateModelVersion(request) == created[0]
    listed = await registry().ListModelVersions(rs.ListModelVersionsRequest(parent="models/idem"))
    assert [v.version_number for v in listed.model_versions] == [1]


async def search(registry, text: str, order_by: str = "name, version") -> list[str]:
    reply = await registry().SearchModelVersions(rs.SearchModelVersionsRequest(filter=text, order_by=order_by,
                                                                               page_size=1000))
    return [f"{v.name.split('/')[1]}:{v.version_number}" for v in reply.model_versions]


@pytest.fixture
async def catalogue(registry):
    await registry.model("alpha")
    await registry.model("beta")
    await registry.version("alpha", metrics={"val_loss": 1.9, "recall@5": 0.70}, tags={"team": "nlp"},
                           params={"lr": 0.01, "optimizer": "adamw", "bf16": True})
    await registry.version("alpha", metrics={"val_loss": 1.5}, tags={"team": "search"}, params={"lr": 0.001},
                           snapshot="snapshots/s2")
    await registry.version("beta", metrics={"val_loss": 1.2, "recall@5": 0.91}, tags={"team": "qa"},
                           recipe="embedding-finetune", params={"optimizer": "sgd", "bf16": False})
    await registry.version("beta", tags={"team": "nlp", "stage": "exp"}, recipe="embedding-finetune")
    return registry


async def test_every_filter_operator_or_and_parentheses(catalogue):
    r = catalogue
    assert await search(r, "") == ["alpha:1", "alpha:2", "beta:1", "beta:2"]
    assert await search(r, "name = 'alpha'") == ["alpha:1", "alpha:2"]
    assert await search(r, "name != 'alpha'") == ["beta:1", "beta:2"]
    assert await search(r, "metrics.val_loss < 1.5") == ["beta:1"]
    assert await search(r, "metrics.val_loss <= 1.5") == ["alpha:2", "beta:1"]
    assert await search(r, "metrics.val_loss > 1.5") == ["alpha:1"]
    assert await search(r, "metrics.val_loss >= 1.5") == ["alpha:1", "alpha:2"]
    assert await search(r, "metrics.`recall@5` >= 0.9") == ["beta:1"]
    # A version without the metric or tag matches no comparison on it, != included.
    assert await search(r, "metrics.val_loss != 1.5") == ["alpha:1", "beta:1"]
    assert await search(r, "tags.stage != 'prod'") == ["beta:2"]
    assert await search(r, "tags.team IN ('qa', 'search')") == ["alpha:2", "beta:1"]
    assert await search(r, "name LIKE 'al%'") == ["alpha:1", "alpha:2"]
    assert await search(r, "recipe = 'embedding-finetune' AND tags.team = 'nlp'") == ["beta:2"]
    assert await search(r, "tags.team = 'nlp' OR metrics.val_loss < 1.3") == ["alpha:1", "beta:1", "beta:2"]
    assert await search(r, "(tags.team = 'nlp' OR tags.team = 'qa') AND metrics.val_loss < 2") == [
        "alpha:1", "beta:1"]
    assert await search(r, "tags.team = 'nlp' OR tags.team = 'qa' AND metrics.val_loss < 2") == [
        "alpha:1", "beta:1", "beta:2"]
    assert await search(r, "params.lr < 0.005") == ["alpha:2"]
    assert await search(r, "params.optimizer = 'adamw'") == ["alpha:1"]
    assert await search(r, "params.bf16 = TRUE") == ["alpha:1"]
    assert await search(r, "lineage.snapshot = 'snapshots/s2'") == ["alpha:2"]
    assert await search(r, "version = 2 AND state = READY") == ["alpha:2", "beta:2"]
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert await search(r, f"create_time < '{future}'") == ["alpha:1", "alpha:2", "beta:1", "beta:2"]
    assert await search(r, "metrics.val_loss < 2", order_by="metrics.val_loss") == ["beta:1", "alpha:2", "alpha:1"]
    # Versions without the metric sort last in either direction.
    assert await search(r, "", order_by="metrics.val_loss desc") == ["alpha:1", "alpha:2", "beta:1", "beta:2"]


@pytest.mark.parametrize(("text", "position", "token"), [
    ("metrics.val_loss <", "19", ""),
    ("name = 'x' AND", "15", ""),
    ("(name = 'x'", "12", ""),
    ("name ~ 'x'", "6", "~"),
    ("colour = 'red'", "1", "colour"),
    ("tags.team = 3", "1", "tags.team"),
    ("metrics.val_loss < 'low'", "1", "metrics.val_loss"),
    ("state = BROKEN", "9", "BROKEN"),
    ("create_time > 'yesterday'", "15", "yesterday"),
])
async def test_bad_filters_are_invalid_argument_pointing_at_the_token(catalogue, text, position, token):
    error = await expect_error(catalogue().SearchModelVersions(rs.SearchModelVersionsRequest(filter=text)),
                               grpc.StatusCode.INVALID_ARGUMENT)
    assert error.reason == "INVALID_FILTER"
    assert error.field_violations[0].field == "filter"
    assert error.metadata["position"] == position, error
    assert error.metadata["token"] == token


@pytest.mark.parametrize("attack", [
    "name = 'x'' OR 1=1 --'",
    "tags.`team' OR '1'='1` = 'nlp'",
    "name = 'alpha'; DROP TABLE model_versions; --'",
    "name LIKE '%'' UNION SELECT * FROM request_log --'",
])
async def test_sql_injection_in_filters_is_harmless(catalogue, attack):
    r = catalogue
    try:
        matched = await search(r, attack)
    except grpc.aio.AioRpcError as exc:
        assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
        matched = []
    assert matched == []
    assert len(await search(r, "")) == 4
    error = await expect_error(r().GetModel(rs.GetModelRequest(name="models/alpha'; DROP TABLE models; --")),
                               grpc.StatusCode.INVALID_ARGUMENT)
    assert error.field_violations[0].field == "name"


async def test_pages_walk_every_version_exactly_once_while_versions_are_created(registry):
    await registry.model("pager")
    for _ in range(12):
        await registry.version("pager")
    for order_by in ("create_time desc", "version", "metrics.val_loss desc"):
        seen: list[int] = []
        token = ""
        walks = 0
        while True:
            page = await registry().SearchModelVersions(rs.SearchModelVersionsRequest(
                filter="name = 'pager'", order_by=order_by, page_size=5, page_token=token))
            seen += [v.version_number for v in page.model_versions]
            token = page.next_page_token
            if not token:
                break
            walks += 1
            await registry.version("pager")  # a new version while we page
        first_twelve = [n for n in seen if n <= 12]
        assert sorted(first_twelve) == list(range(1, 13)), order_by
        assert len(seen) == len(set(seen)), f"repeated rows with {order_by}: {seen}"
        assert walks >= 2


async def test_aliases_resolve_everywhere_and_every_move_is_an_outbox_event(registry):
    await registry.model("prod-model")
    v1 = await registry.version("prod-model")
    v2 = await registry.version("prod-model")
    first = await registry().SetAlias(rs.SetAliasRequest(model="models/prod-model", alias="production",
                                                         version=v1.name))
    assert first.previous_version == "" and first.alias.version == v1.name
    moved = await registry().SetAlias(rs.SetAliasRequest(model="models/prod-model", alias="production",
                                                         version=v2.name))
    assert moved.previous_version == v1.name
    # Setting it to where it already points changes nothing and records nothing.
    await registry().SetAlias(rs.SetAliasRequest(model="models/prod-model", alias="production", version=v2.name))
    by_alias = await registry().GetVersionByAlias(rs.GetVersionByAliasRequest(model="models/prod-model",
                                                                              alias="production"))
    assert by_alias.name == v2.name and by_alias.aliases == ["models/prod-model@production"]
    assert (await registry().GetModelVersion(rs.GetModelVersionRequest(name="models/prod-model@production"))).name \
        == v2.name
    assert (await registry().GetModelVersion(rs.GetModelVersionRequest(name="models/prod-model@latest"))).name \
        == v2.name
    model = await registry().GetModel(rs.GetModelRequest(name="models/prod-model"))
    assert [(a.alias, a.version) for a in model.aliases] == [("production", v2.name)]
    await registry().DeleteAlias(rs.DeleteAliasRequest(model="models/prod-model", alias="production"))
    await expect_error(registry().GetVersionByAlias(rs.GetVersionByAliasRequest(
        model="models/prod-model", alias="production")), grpc.StatusCode.NOT_FOUND)
    error = await expect_error(registry().SetAlias(rs.SetAliasRequest(
        model="models/prod-model", alias="latest", version=v1.name)), grpc.StatusCode.INVALID_ARGUMENT)
    assert error.reason == "ALIAS_RESERVED"
    # With no history service running, the moves wait in the outbox, in order, with their idempotency keys.
    pending = await registry.server.outbox.pending()
    moves = [history_service_pb2.RecordLifecycleEventRequest.FromString(m["payload"]).lifecycle_event.alias_moved
             for m in pending if m["key"].startswith("alias:")]
    assert [(m.alias, m.previous_version, m.new_version) for m in moves] == [
        ("production", "", v1.name), ("production", v1.name, v2.name), ("production", v2.name, "")]
    registered = [m for m in pending if m["key"].startswith("registered:")]
    assert len(registered) == 2 and all(m["attempts"] >= 0 for m in registered)


async def test_a_tampered_artifact_fails_verification_and_cannot_be_downloaded(registry, tmp_path):
    await registry.model("tamper")
    version = await registry.version("tamper")
    download = await registry().GetVersionDownload(rs.GetVersionDownloadRequest(name=version.name))
    weights = Path(next(f.uri for f in download.files if f.path == "model.safetensors").removeprefix("file://"))
    ok = await registry().VerifyVersion(rs.VerifyVersionRequest(name=version.name))
    assert ok.verification.outcome == model_version_pb2.Verification.OUTCOME_PASSED
    data = bytearray(weights.read_bytes())
    data[0] ^= 0xFF
    weights.write_bytes(bytes(data))
    bad = await registry().VerifyVersion(rs.VerifyVersionRequest(name=version.name))
    assert bad.verification.outcome == model_version_pb2.Verification.OUTCOME_FAILED
    assert [(m.path, m.kind) for m in bad.verification.mismatches] == [
        ("model.safetensors", model_version_pb2.FileMismatch.KIND_SHA256_MISMATCH)]
    error = await expect_error(registry().GetVersionDownload(rs.GetVersionDownloadRequest(name=version.name)),
                               grpc.StatusCode.FAILED_PRECONDITION)
    assert error.reason == "VERSION_INTEGRITY_FAILED"
    stored = await registry().GetModelVersion(rs.GetModelVersionRequest(name=version.name))
    assert stored.last_verification.outcome == model_version_pb2.Verification.OUTCOME_FAILED


async def test_a_version_whose_files_do_not_match_fails_registration(registry, tmp_path):
    await registry.model("broken")
    uri, manifest = write_artifact(tmp_path / "broken", {"w.bin": b"real"})
    manifest.files[0].sha256 = "b" * 64
    created = await registry().CreateModelVersion(rs.CreateModelVersionRequest(
        parent="models/broken", model_version=MV(artifact_uri=uri, manifest=manifest, recipe="r")))
    assert created.state == MV.STATE_FAILED_REGISTRATION
    assert "w.bin" in created.error.message
    await expect_error(registry().SetAlias(rs.SetAliasRequest(model="models/broken", alias="prod",
                                                              version=created.name)),
                       grpc.StatusCode.FAILED_PRECONDITION)


async def test_large_artifacts_register_in_the_background(start_service, tokens, channel_to, tmp_path):
    server = await start_service("registry", sync_verify_max_bytes=0)
    stub = RegistryServiceStub(channel_to(server, token=tokens.alice))
    await stub.CreateModel(rs.CreateModelRequest(model_id="big", model=model_pb2.Model()))
    uri, manifest = write_artifact(tmp_path / "big", {"w.bin": b"x" * 4096})
    created = await stub.CreateModelVersion(rs.CreateModelVersionRequest(
        parent="models/big", model_version=MV(artifact_uri=uri, manifest=manifest, recipe="r")))
    assert created.state == MV.STATE_PENDING_REGISTRATION
    for _ in range(100):
        state = (await stub.GetModelVersion(rs.GetModelVersionRequest(name=created.name))).state
        if state != MV.STATE_PENDING_REGISTRATION:
            break
        await asyncio.sleep(0.05)
    assert state == MV.STATE_READY


async def record(registry, version: str, deployment: str, state: int, when: datetime, token: str):
    request = rs.RecordDeploymentRequest(parent=version, version_deployment=VD(
        deployment=deployment, target="local", state=state, traffic_percent=100))
    request.version_deployment.event_time.FromDatetime(when)
    return await registry(token).RecordDeployment(request)


async def test_deletes_of_deployed_or_aliased_models_and_versions_are_refused(registry, tokens):
    await registry.model("guarded")
    v1 = await registry.version("guarded")
    v2 = await registry.version("guarded")
    await registry().SetAlias(rs.SetAliasRequest(model="models/guarded", alias="prod", version=v1.name))
    now = datetime.now(UTC)
    await record(registry, v2.name, "deployments/web", VD.STATE_SERVING, now, tokens.service)
    error = await expect_error(registry().DeleteModel(rs.DeleteModelRequest(name="models/guarded")),
                               grpc.StatusCode.FAILED_PRECONDITION)
    assert error.reason == "MODEL_ALIASED"
    assert (await expect_error(registry().DeleteModelVersion(rs.DeleteModelVersionRequest(name=v1.name)),
                               grpc.StatusCode.FAILED_PRECONDITION)).reason == "VERSION_ALIASED"
    assert (await expect_error(registry().DeleteModelVersion(rs.DeleteModelVersionRequest(name=v2.name)),
                               grpc.StatusCode.FAILED_PRECONDITION)).reason == "VERSION_DEPLOYED"
    await registry().DeleteAlias(rs.DeleteAliasRequest(model="models/guarded", alias="prod"))
    assert (await expect_error(registry().DeleteModel(rs.DeleteModelRequest(name="models/guarded")),
                               grpc.StatusCode.FAILED_PRECONDITION)).reason == "MODEL_DEPLOYED"
    assert (await expect_error(registry().RenameModel(rs.RenameModelRequest(name="models/guarded",
                                                                            new_model_id="renamed")),
                               grpc.StatusCode.FAILED_PRECONDITION)).reason == "MODEL_DEPLOYED"
    # Nothing was lost by the refusals.
    listed = await registry().ListModelVersions(rs.ListModelVersionsRequest(parent="models/guarded"))
    assert len(listed.model_versions) == 2
    await expect_error(registry().DeleteModel(rs.DeleteModelRequest(name="models/guarded", force=True)),
                       grpc.StatusCode.PERMISSION_DENIED)
    await registry(tokens.admin).DeleteModel(rs.DeleteModelRequest(name="models/guarded", force=True))
    await expect_error(registry().GetModelVersion(rs.GetModelVersionRequest(name=v1.name)), grpc.StatusCode.NOT_FOUND)


async def test_deployment_records_upsert_by_event_time_and_show_on_the_version(registry, tokens):
    await registry.model("served")
    version = await registry.version("served")
    t0 = datetime.now(UTC)
    await expect_error(record(registry, version.name, "deployments/web", VD.STATE_DEPLOYING, t0, tokens.alice),
                       grpc.StatusCode.PERMISSION_DENIED)
    await record(registry, version.name, "deployments/web", VD.STATE_DEPLOYING, t0, tokens.service)
    await record(registry, version.name, "deployments/web", VD.STATE_SERVING, t0 + timedelta(seconds=1),
                 tokens.service)
    stale = await record(registry, version.name, "deployments/web", VD.STATE_DEPLOYING, t0, tokens.service)
    assert stale.state == VD.STATE_SERVING  # a late, older report changes nothing
    await record(registry, version.name, "deployments/batch", VD.STATE_RETIRED, t0, tokens.service)
    shown = await registry().GetModelVersion(rs.GetModelVersionRequest(name=version.name))
    assert list(shown.active_deployments) == ["deployments/web"]
    listed = await registry().ListVersionDeployments(rs.ListVersionDeploymentsRequest(
        parent=version.name, filter="state IN (SERVING, DEPLOYING)"))
    assert [(d.deployment, d.state) for d in listed.version_deployments] == [("deployments/web", VD.STATE_SERVING)]
    every = await registry().ListVersionDeployments(rs.ListVersionDeploymentsRequest(
        parent=version.name, order_by="deployment", page_size=1))
    assert every.version_deployments[0].deployment == "deployments/batch" and every.next_page_token


async def test_compare_aligns_metrics_with_deltas_and_lists_differences(catalogue):
    reply = await catalogue().CompareModelVersions(rs.CompareModelVersionsRequest(
        names=["models/alpha/versions/1", "models/alpha/versions/2", "models/beta/versions/1"]))
    rows = {row.key: row for row in reply.metrics}
    loss = rows["val_loss"].values
    assert [c.value for c in loss] == [1.9, 1.5, 1.2]
    assert loss[0].delta == 0 and loss[1].delta == pytest.approx(-0.4)
    assert loss[2].relative_delta == pytest.approx((1.2 - 1.9) / 1.9)
    assert not rows["recall@5"].values[1].HasField("value")
    params = {d.field: d for d in reply.hyperparameter_differences}
    assert set(params) == {"lr", "optimizer", "bf16"}
    assert params["lr"].values[2].WhichOneof("kind") == "null_value"
    lineage = {d.field: [v.WhichOneof("kind") for v in d.values] for d in reply.lineage_differences}
    assert "lineage.snapshot" in lineage
    assert {d.field for d in reply.architecture_differences} == {"recipe"}
    await expect_error(catalogue().CompareModelVersions(rs.CompareModelVersionsRequest(names=["models/alpha@x"])),
                       grpc.StatusCode.INVALID_ARGUMENT)
    error = await expect_error(catalogue().CompareModelVersions(rs.CompareModelVersionsRequest(
        names=["models/alpha/versions/1", "models/alpha/versions/99"])), grpc.StatusCode.NOT_FOUND)
    assert error.metadata["name"] == "models/alpha/versions/99"


async def test_update_archive_and_rename(registry):
    await registry.model("life")
    version = await registry.version("life", metrics={"loss": 2.0}, tags={"a": "1"})
    updated = await registry().UpdateModelVersion(rs.UpdateModelVersionRequest(
        model_version=MV(name=version.name, description="tuned", tags={"b": "2"},
                         metrics=[model_version_pb2.Metric(key="loss", value=1.0, split="test")]),
        update_mask=field_mask_pb2.FieldMask(paths=["description", "tags.b", "metrics"])))
    assert updated.description == "tuned" and dict(updated.tags) == {"a": "1", "b": "2"}
    assert [(m.key, m.value) for m in updated.metrics] == [("loss", 1.0)]
    assert await search(registry, "metrics.loss = 1 AND tags.b = '2'") == ["life:1"]
    await expect_error(registry().UpdateModelVersion(rs.UpdateModelVersionRequest(
        model_version=MV(name=version.name, recipe="x"), update_mask=field_mask_pb2.FieldMask(paths=["recipe"]))),
        grpc.StatusCode.INVALID_ARGUMENT)
    await expect_error(registry().UpdateModelVersion(rs.UpdateModelVersionRequest(
        model_version=MV(name=version.name, description="stale", etag=version.etag),
        update_mask=field_mask_pb2.FieldMask(paths=["description"]))), grpc.StatusCode.ABORTED)
    archived = await registry().ArchiveModelVersion(rs.ArchiveModelVersionRequest(name=version.name))
    assert archived.state == MV.STATE_ARCHIVED and archived.HasField("archive_time")
    assert await search(registry, "state = ARCHIVED") == ["life:1"]
    await registry().UnarchiveModelVersion(rs.UnarchiveModelVersionRequest(name=version.name))
    renamed = await registry().RenameModel(rs.RenameModelRequest(name="models/life", new_model_id="life2"))
    assert renamed.name == "models/life2"
    moved = await registry().GetModelVersion(rs.GetModelVersionRequest(name="models/life2/versions/1"))
    assert moved.uid == version.uid
    await expect_error(registry().GetModel(rs.GetModelRequest(name="models/life")), grpc.StatusCode.NOT_FOUND)


async def test_list_models_filters(catalogue):
    await catalogue().UpdateModel(rs.UpdateModelRequest(
        model=model_pb2.Model(name="models/beta", tags={"team": "qa"}),
        update_mask=field_mask_pb2.FieldMask(paths=["tags"])))
    for text, expected in (("tags.team = 'qa'", ["models/beta"]), ("name LIKE 'a%'", ["models/alpha"]),
                           ("latest_version_number >= 2", ["models/alpha", "models/beta"]),
                           ("name = 'alpha' OR tags.team = 'qa'", ["models/alpha", "models/beta"])):
        reply = await catalogue().ListModels(rs.ListModelsRequest(filter=text))
        assert [m.name for m in reply.models] == expected, text
