"""Entry point: ``python -m services.trainer [serve|migrate]``."""

from lathe.kit.service import run_service
from services.trainer.app import MIGRATIONS, SERVICE, build
from services.trainer.settings import TrainerSettings


def main() -> int:
    """Read the settings once and run the service."""
    return run_service(SERVICE, TrainerSettings(), build, MIGRATIONS)


if __name__ == "__main__":
    raise SystemExit(main())
