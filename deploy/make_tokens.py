"""Creates the bearer tokens of a cluster suite: ``python deploy/make_tokens.py OUT_DIR [--user NAME=ROLE ...]``.

Writes, each with mode 0600: ``tokens.json`` (sha256 digests → principals, what the services read from the
lathe-tokens Secret), ``admin.token`` (the admin's bearer token, for the CLI), ``service.token`` (what the
services present to each other, for the lathe-secrets Secret) and ``<name>.token`` per ``--user``. The raw
tokens never enter tokens.json, so the Secret mounted into every pod holds no usable credential.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from lathe.kit.auth import ROLE_ADMIN, ROLE_GRANTS, ROLE_SERVICE, new_token, write_tokens_file


def make_tokens(out: Path, users: list[tuple[str, str]] = ()) -> dict[str, str]:
    """Write the files; returns ``{principal: token}``."""
    out.mkdir(parents=True, exist_ok=True)
    principals = [("admin", ROLE_ADMIN), ("lathe-services", ROLE_SERVICE), *users]
    tokens = {user: new_token() for user, _ in principals}
    write_tokens_file(out / "tokens.json", [(tokens[user], user, [role]) for user, role in principals])
    files = {"admin": "admin.token", "lathe-services": "service.token"}
    for user, token in tokens.items():
        path = out / files.get(user, f"{user}.token")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(token + "\n")
    return tokens


def _user(text: str) -> tuple[str, str]:
    name, _, role = text.partition("=")
    if not name or role not in ROLE_GRANTS or name in {"admin", "lathe-services"}:
        raise argparse.ArgumentTypeError(f"expected NAME=ROLE with ROLE one of {sorted(ROLE_GRANTS)}, got {text!r}")
    return name, role


def main(argv: list[str] | None = None) -> int:
    """Command line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for tokens.json and the *.token files")
    parser.add_argument("--user", type=_user, action="append", default=[], help="another principal, NAME=ROLE")
    args = parser.parse_args(argv)
    tokens = make_tokens(args.out, args.user)
    print(f"wrote {args.out / 'tokens.json'} and {len(tokens)} token files (mode 0600) in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
