"""How CLI commands reach a suite: addresses from the running suite's record, the home's admin token,
and service errors printed as the message and the field they name (never a traceback)."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import grpc
import typer
from google.protobuf import json_format
from google.protobuf.message import Message
from rich.console import Console

from lathe.client.config import ClientConfig
from lathe.kit.clients import create_channel
from lathe.kit.errors import LatheError, from_rpc_error
from lathe.kit.home import Home

T = TypeVar("T")
err = Console(stderr=True)

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="Suite home folder (default: $LATHE_HOME or ./.lathe).", show_default=False),
]


JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def print_json(value: list | Message) -> None:
    """A message as a JSON object, or messages as one JSON array (protobuf's JSON mapping), for scripts."""
    if isinstance(value, Message):
        print(json.dumps(json_format.MessageToDict(value), indent=2))
    else:
        print(json.dumps([json_format.MessageToDict(m) for m in value], indent=2))


def resolve_home(home: Path | None) -> Home:
    """The home folder in force: --home, then $LATHE_HOME, then ./.lathe."""
    root = home or Path(os.environ.get("LATHE_HOME") or Path.cwd() / ".lathe")
    return Home(root.expanduser().resolve())

# Exit codes a script can tell apart.
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_UNAVAILABLE = 4
EXIT_JOB_FAILED = 5
_EXIT_BY_CODE = {
    grpc.StatusCode.INVALID_ARGUMENT: EXIT_USAGE,
    grpc.StatusCode.OUT_OF_RANGE: EXIT_USAGE,
    grpc.StatusCode.NOT_FOUND: EXIT_NOT_FOUND,
    grpc.StatusCode.UNAVAILABLE: EXIT_UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED: EXIT_UNAVAILABLE,
}


def address_of(service: str, home: Home) -> str:
    """``$LATHE_<SERVICE>_ADDRESS``, else ``$LATHE_SERVER`` (``lathe --server``), else the running suite's record,
    else the default local port."""
    return ClientConfig.resolve(home=home).addresses[service]


def token_of(home: Home) -> str | None:
    """``$LATHE_TOKEN``, else the home's admin token."""
    return os.environ.get("LATHE_TOKEN") or home.admin_token()


@asynccontextmanager
async def channel_to(service: str, home: Home) -> AsyncIterator[grpc.aio.Channel]:
    """An authenticated channel to ``service`` of the suite in ``home``."""
    channel = create_channel(address_of(service, home), token=token_of(home))
    try:
        yield channel
    finally:
        await channel.close()


def run(action: Callable[[], Awaitable[T]]) -> T:
    """Run an async CLI action; a failed RPC prints its message and fields and exits with a typed code."""
    try:
        return asyncio.run(action())
    except grpc.aio.AioRpcError as exc:
        fail(from_rpc_error(exc))
    except LatheError as exc:  # raised by lathe.client
        fail(exc)


def fail(error: LatheError) -> NoReturn:
    """Print a service error (its message and the fields it names) and exit with its typed code."""
    err.print(f"[red]error ({error.code.name}): {error.message}[/red]")
    for violation in error.field_violations:
        err.print(f"  field [bold]{violation.field}[/bold]: {violation.description}")
    raise typer.Exit(_EXIT_BY_CODE.get(error.code, EXIT_FAILED)) from None
