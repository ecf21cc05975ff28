"""Entry point: ``python -m services.deployer [serve|migrate]`` or ``python -m services.deployer serve-model …``."""

import sys

from lathe.kit.service import run_service
from services.deployer.app import MIGRATIONS, SERVICE, build
from services.deployer.settings import DeployerSettings


def main() -> int:
    """Read the settings once and run the service (or, with ``serve-model``, one model server)."""
    if sys.argv[1:2] == ["serve-model"]:
        from services.deployer.serve_model import main as serve_model

        return serve_model(sys.argv[2:])
    return run_service(SERVICE, DeployerSettings(), build, MIGRATIONS)


if __name__ == "__main__":
    raise SystemExit(main())
