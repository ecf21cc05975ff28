"""``python -m lathe.cli`` and the installed ``lathe`` command."""

from lathe.cli.app import app


def main() -> None:
    """Run the CLI."""
    app()


if __name__ == "__main__":
    main()
