"""Entry point: ``python -m services.registry [serve|migrate]``."""

from lathe.kit.service import run_service
from services.registry.app import MIGRATIONS, SERVICE, build
from services.registry.settings import RegistrySettings


def main() -> int:
    """Read the settings once and run the service."""
    return run_service(SERVICE, RegistrySettings(), build, MIGRATIONS)


if __name__ == "__main__":
    raise SystemExit(main())
