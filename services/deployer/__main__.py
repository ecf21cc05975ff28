"""Entry point: ``python -m services.deployer [serve|migrate]``."""

from lathe.kit.service import run_service
from services.deployer.app import MIGRATIONS, SERVICE, build
from services.deployer.settings import DeployerSettings


def main() -> int:
    """Read the settings once and run the service."""
    return run_service(SERVICE, DeployerSettings(), build, MIGRATIONS)


if __name__ == "__main__":
    raise SystemExit(main())
