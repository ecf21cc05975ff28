"""Entry point: ``python -m services.corpus [serve|migrate]``."""

from lathe.kit.service import run_service
from services.corpus.app import MIGRATIONS, SERVICE, build
from services.corpus.settings import CorpusSettings


def main() -> int:
    """Read the settings once and run the service."""
    return run_service(SERVICE, CorpusSettings(), build, MIGRATIONS)


if __name__ == "__main__":
    raise SystemExit(main())
