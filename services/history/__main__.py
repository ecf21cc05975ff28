"""Entry point: ``python -m services.history [serve|migrate]``."""

from lathe.kit.service import run_service
from services.history.app import MIGRATIONS, SERVICE, build
from services.history.settings import HistorySettings


def main() -> int:
    """Read the settings once and run the service."""
    return run_service(SERVICE, HistorySettings(), build, MIGRATIONS)


if __name__ == "__main__":
    raise SystemExit(main())
