"""structlog configuration: JSON lines off a TTY, a readable console on one, context first."""

from __future__ import annotations

import logging
import sys

import structlog

from lathe.kit.settings import LogFormat


def configure_logging(level: str = "info", fmt: LogFormat = LogFormat.AUTO, *, service: str | None = None) -> None:
    """Configure structlog and the standard library's root logger once per process."""
    use_json = fmt == LogFormat.JSON or (fmt == LogFormat.AUTO and not sys.stderr.isatty())
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        _static_fields({"service": service} if service else {}),
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor
    if use_json:
        shared.append(structlog.processors.dict_tracebacks)
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer()
    numeric = logging.getLevelNamesMapping()[level.upper()]
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    # Libraries that log through the standard library (alembic, asyncio) go to stderr at the same level.
    logging.basicConfig(level=numeric, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s", force=True)
    for noisy in ("sqlalchemy.engine", "aiosqlite", "asyncio"):
        logging.getLogger(noisy).setLevel(max(numeric, logging.WARNING))


def _static_fields(fields: dict[str, str]) -> structlog.types.Processor:
    def add(_logger: object, _method: str, event: dict) -> dict:
        for key, value in fields.items():
            event.setdefault(key, value)
        return event

    return add


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    """A structlog logger; ``name`` is attached as ``logger``."""
    return structlog.get_logger(logger=name) if name else structlog.get_logger()
