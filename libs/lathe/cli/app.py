"""The ``lathe`` command: run a local suite and look at it."""

from __future__ import annotations

import os
import signal
import threading
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from lathe.cli.connect import EXIT_USAGE, HomeOption, resolve_home
from lathe.cli.corpus import corpus_app
from lathe.cli.demo import demo as demo_command
from lathe.cli.deployer import deployer_app
from lathe.cli.history import history_app
from lathe.cli.plots import plot_job
from lathe.cli.registry import models_app
from lathe.cli.stats import stats as stats_command
from lathe.cli.suite import Suite, check_health
from lathe.cli.trainer import job_app, trainer_app
from lathe.client.config import server_addresses
from lathe.kit.settings import DEFAULT_PORTS, SERVICES

app = typer.Typer(name="lathe", help="Lathe: data in, trained, versioned, deployed models out.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
console = Console()
err = Console(stderr=True)
app.add_typer(history_app, name="history")
app.add_typer(models_app, name="models")
app.add_typer(corpus_app, name="corpus")
app.add_typer(trainer_app)  # train, jobs, job: top-level verbs
app.add_typer(deployer_app)  # deploy, deployments, rollback, infer: top-level verbs
app.command("stats")(stats_command)
app.command("demo")(demo_command)
job_app.command("plot")(plot_job)


@app.callback()
def _global(server: Annotated[str | None, typer.Option(
        "--server", envvar="LATHE_SERVER", help="HOST or HOST:PORT of a remote suite (ports follow in order: corpus, "
        "trainer, registry, history, deployer); LATHE_<SERVICE>_ADDRESS overrides one service.")] = None) -> None:
    """Lathe: data in, trained, versioned, deployed models out."""
    if server:
        try:
            server_addresses(server)
        except ValueError as exc:
            err.print(f"[red]--server: {exc}[/red]")
            raise typer.Exit(EXIT_USAGE) from None
        os.environ["LATHE_SERVER"] = server

@app.command()
def up(
    home: HomeOption = None,
    host: Annotated[str, typer.Option(help="Interface the services bind to.")] = "127.0.0.1",
    port_base: Annotated[int, typer.Option(help="Port of the first service; the others follow.")] = min(
        DEFAULT_PORTS.values()
    ),
    database_url: Annotated[
        str | None,
        typer.Option(envvar="LATHE_DATABASE_URL", help="PostgreSQL URL; default: SQLite files in the home."),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for every service to be healthy.")] = 120.0,
) -> None:
    """Start all five services locally, wait until they are healthy, and run until Ctrl-C or SIGTERM."""
    suite_home = resolve_home(home)
    suite_home.ensure()
    record = suite_home.read_suite()
    if record and _alive(record.get("pid")):
        err.print(f"[red]a suite is already running from {suite_home.root} (pid {record['pid']})[/red]")
        raise typer.Exit(1)
    suite = Suite(suite_home, host=host, port_base=port_base, database_url=database_url)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        suite.start()
    except RuntimeError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    console.print(f"starting Lathe from [bold]{suite_home.root}[/bold] "
                  f"({'PostgreSQL' if database_url else 'SQLite'}) …")
    try:
        suite.wait_healthy(timeout, on_ready=lambda s: console.print(f"  {s:<9} [green]SERVING[/green]"))
    except RuntimeError as exc:
        err.print(f"[red]the suite did not come up: {exc}[/red]")
        suite.stop()
        raise typer.Exit(1) from None
    _print_addresses(suite)
    console.print(f"admin token: {suite_home.admin_token_file}    logs: {suite_home.logs}")
    console.print("press Ctrl-C to stop", style="dim")
    failed: dict[str, int] = {}
    while not stop.wait(0.5):
        failed = suite.exited()
        if failed:
            break
    codes = suite.stop()
    if failed:
        err.print(f"[red]stopped because a service exited: {failed}[/red]")
        raise typer.Exit(1)
    console.print("stopped: " + ", ".join(f"{s} ({c})" for s, c in codes.items()))


@app.command()
def status(home: HomeOption = None) -> None:
    """Show each service's health; exits 0 only when all five are SERVING."""
    suite_home = resolve_home(home)
    record = suite_home.read_suite() or {}
    services = record.get("services", {})
    table = Table("service", "address", "health")
    healthy = True
    for service in SERVICES:
        address = services.get(service, {}).get("address") or f"127.0.0.1:{DEFAULT_PORTS[service]}"
        state = check_health(address)
        healthy &= state == "SERVING"
        table.add_row(service, address, f"[{'green' if state == 'SERVING' else 'red'}]{state}[/]")
    console.print(table)
    raise typer.Exit(0 if healthy else 1)


def _print_addresses(suite: Suite) -> None:
    table = Table("service", "address", "pid")
    for service, process in suite.processes.items():
        table.add_row(service, suite.address(service), str(process.pid))
    console.print(table)


def _alive(pid: object) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
