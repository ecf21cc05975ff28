"""``lathe models``: the registry's models and versions — list, show, search, compare, alias."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer
from google.protobuf import json_format
from rich.console import Console
from rich.table import Table

from lathe.cli.connect import EXIT_USAGE, HomeOption, JsonOption, channel_to, print_json, resolve_home, run
from lathe.registry.v1 import model_version_pb2
from lathe.registry.v1 import registry_service_pb2 as rs
from lathe.registry.v1.registry_service_pb2_grpc import RegistryServiceStub

models_app = typer.Typer(help="Registered models and their versions.", invoke_without_command=True,
                         no_args_is_help=False)
console = Console()
err = Console(stderr=True)
_REF = re.compile(r"^(?P<model>[^/@:]+)(?::(?P<version>\d+)|@(?P<alias>[^/@:]+))?$")
STATE = model_version_pb2.ModelVersion.State


def version_name(ref: str) -> str:
    """``NAME:VERSION`` → ``models/NAME/versions/VERSION``; ``NAME@ALIAS`` → ``models/NAME@ALIAS``."""
    match = _REF.match(ref)
    if not match:
        err.print(f"[red]{ref!r} is not NAME, NAME:VERSION or NAME@ALIAS[/red]")
        raise typer.Exit(EXIT_USAGE)
    if match["version"]:
        return f"models/{match['model']}/versions/{match['version']}"
    if match["alias"]:
        return f"models/{match['model']}@{match['alias']}"
    return f"models/{match['model']}"


def _metrics(version: model_version_pb2.ModelVersion) -> str:
    return ", ".join(f"{m.key}={m.value:.4g}" for m in version.metrics[:4])


def _versions_table(versions: list[model_version_pb2.ModelVersion]) -> Table:
    table = Table("version", "state", "recipe", "metrics", "aliases", "created")
    for v in versions:
        table.add_row(v.name.removeprefix("models/"), STATE.Name(v.state).removeprefix("STATE_"), v.recipe,
                      _metrics(v), ", ".join(a.rsplit("@", 1)[1] for a in v.aliases),
                      v.create_time.ToDatetime().strftime("%Y-%m-%d %H:%M"))
    return table


@models_app.callback()
def list_models(ctx: typer.Context, home: HomeOption = None, as_json: JsonOption = False,
                filter_: Annotated[str, typer.Option("--filter", help="e.g. \"tags.team = 'nlp'\"")] = "") -> None:
    """List registered models (when no subcommand is given)."""
    if ctx.invoked_subcommand is not None:
        return

    async def action() -> list:
        async with channel_to("registry", resolve_home(home)) as channel:
            stub, models, token = RegistryServiceStub(channel), [], ""
            while True:
                page = await stub.ListModels(rs.ListModelsRequest(filter=filter_, page_token=token, page_size=200))
                models += page.models
                token = page.next_page_token
                if not token:
                    return models

    models = run(action)
    if as_json:
        print_json(models)
        return
    table = Table("model", "versions", "aliases", "description", "updated")
    for m in models:
        table.add_row(m.name.removeprefix("models/"), str(m.latest_version_number),
                      ", ".join(f"{a.alias}→{a.version.rsplit('/', 1)[1]}" for a in m.aliases),
                      m.description[:60], m.update_time.ToDatetime().strftime("%Y-%m-%d %H:%M"))
    console.print(table)


@models_app.command("show")
def show(ref: Annotated[str, typer.Argument(help="NAME, NAME:VERSION or NAME@ALIAS")], home: HomeOption = None,
         as_json: JsonOption = False) -> None:
    """Show a model and its versions, or one version in full."""
    name = version_name(ref)

    async def action() -> list:
        async with channel_to("registry", resolve_home(home)) as channel:
            stub = RegistryServiceStub(channel)
            if "/versions/" in name or "@" in name:
                return [await stub.GetModelVersion(rs.GetModelVersionRequest(name=name))]
            model = await stub.GetModel(rs.GetModelRequest(name=name))
            versions = await stub.ListModelVersions(rs.ListModelVersionsRequest(parent=name, page_size=50))
            return [model, *versions.model_versions]

    found = run(action)
    if as_json:
        print_json(found)
        return
    if isinstance(found[0], model_version_pb2.ModelVersion):
        v = found[0]
        console.print(f"[bold]{v.name}[/bold]  {STATE.Name(v.state)}  recipe={v.recipe}  creator={v.creator}")
        console.print(f"artifact: {v.artifact_uri}  ({len(v.manifest.files)} files, {v.manifest.total_size_bytes} "
                      f"bytes, {v.manifest.digest})")
        if v.lineage.snapshot or v.lineage.training_job:
            console.print(f"lineage: snapshot={v.lineage.snapshot} job={v.lineage.training_job} "
                          f"parent={v.lineage.parent_version or '-'}")
        table = Table("metric", "value", "split", "step")
        for m in v.metrics:
            table.add_row(m.key, f"{m.value:.6g}", m.split, str(m.step))
        console.print(table)
        return
    model, *versions = found
    console.print(f"[bold]{model.name}[/bold]  {model.description}")
    console.print(_versions_table(versions))


@models_app.command("search")
def search(filter_: Annotated[str, typer.Argument(help="e.g. \"metrics.val_loss < 1.6 AND tags.team = 'nlp'\"")],
           home: HomeOption = None, order_by: Annotated[str, typer.Option("--order-by")] = "",
           limit: Annotated[int, typer.Option("--limit")] = 50, as_json: JsonOption = False) -> None:
    """Search versions of every model with the registry's filter language."""

    async def action() -> list:
        async with channel_to("registry", resolve_home(home)) as channel:
            reply = await RegistryServiceStub(channel).SearchModelVersions(
                rs.SearchModelVersionsRequest(filter=filter_, order_by=order_by, page_size=limit))
            return list(reply.model_versions)

    versions = run(action)
    if as_json:
        print_json(versions)
    else:
        console.print(_versions_table(versions))


@models_app.command("compare")
def compare(refs: Annotated[list[str], typer.Argument(help="Two or more NAME:VERSION or NAME@ALIAS")],
            home: HomeOption = None, as_json: JsonOption = False,
            plot: Annotated[Path | None, typer.Option("--plot", help="Also write metric bars per version "
                                                      "to this .png or .svg file.")] = None) -> None:
    """Compare versions: metrics with deltas against the first, and what differs."""
    names = [version_name(r) for r in refs]
    if plot is not None:
        from lathe.cli.plots import check_output

        check_output(plot)

    async def action() -> rs.CompareModelVersionsResponse:
        async with channel_to("registry", resolve_home(home)) as channel:
            return await RegistryServiceStub(channel).CompareModelVersions(rs.CompareModelVersionsRequest(names=names))

    reply = run(action)
    if plot is not None:
        from lathe.cli.plots import compare_chart

        err.print(f"wrote {compare_chart(reply, plot)}")
    if as_json:
        print(json_format.MessageToJson(reply))
        return
    table = Table("metric", *[v.name.removeprefix("models/") for v in reply.model_versions])
    for row in reply.metrics:
        cells = []
        for i, cell in enumerate(row.values):
            if not cell.HasField("value"):
                cells.append("-")
            elif i == 0 or not cell.HasField("delta"):
                cells.append(f"{cell.value:.4g}")
            else:
                colour = "green" if cell.delta < 0 else "red" if cell.delta > 0 else "white"
                cells.append(f"{cell.value:.4g} [{colour}]({cell.delta:+.3g})[/{colour}]")
        table.add_row(row.key, *cells)
    console.print(table)
    for title, rows in (("hyperparameters", reply.hyperparameter_differences),
                        ("recipe / architecture", reply.architecture_differences),
                        ("lineage", reply.lineage_differences)):
        if rows:
            diff = Table(title, *[v.name.removeprefix("models/") for v in reply.model_versions])
            for row in rows:
                diff.add_row(row.field, *[json_format.MessageToJson(x, indent=None) for x in row.values])
            console.print(diff)


@models_app.command("alias")
def alias(model: Annotated[str, typer.Argument()], name: Annotated[str, typer.Argument(help="The alias")],
          version: Annotated[str, typer.Argument(help="Version number, or another alias as @ALIAS")],
          home: HomeOption = None) -> None:
    """Point an alias of a model at a version (`lathe models alias gpt production 3`)."""
    target = f"models/{model}@{version[1:]}" if version.startswith("@") else f"models/{model}/versions/{version}"

    async def action() -> rs.SetAliasResponse:
        async with channel_to("registry", resolve_home(home)) as channel:
            return await RegistryServiceStub(channel).SetAlias(
                rs.SetAliasRequest(model=f"models/{model}", alias=name, version=target))

    reply = run(action)
    moved = f" (was {reply.previous_version})" if reply.previous_version else ""
    console.print(f"models/{model}@{name} → {reply.alias.version}{moved}")
