"""Bearer-token authentication: tokens map to principals (user id + roles) from a configuration file.

The file holds only sha256 digests of tokens, so reading it does not reveal a credential::

    {"tokens": [{"sha256": "9f86…", "user": "admin", "roles": ["admin"]}]}
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lathe.kit.errors import PermissionDenied, Unauthenticated

ROLE_ADMIN = "admin"
ROLE_SERVICE = "service"
ROLE_USER = "user"
ROLE_WRITER = "writer"
ROLE_READER = "reader"

# What each configured role grants. A plain user reads and writes their own data; a `reader`-only token
# is read-only; services act for users; admins may do everything, on everyone's data.
ROLE_GRANTS: dict[str, frozenset[str]] = {
    ROLE_ADMIN: frozenset({ROLE_ADMIN, ROLE_USER, ROLE_WRITER, ROLE_READER}),
    ROLE_SERVICE: frozenset({ROLE_SERVICE, ROLE_WRITER, ROLE_READER}),
    ROLE_USER: frozenset({ROLE_USER, ROLE_WRITER, ROLE_READER}),
    ROLE_WRITER: frozenset({ROLE_WRITER, ROLE_READER}),
    ROLE_READER: frozenset({ROLE_READER}),
}


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user (or service) id and its roles."""

    user_id: str
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def grants(self) -> frozenset[str]:
        """The roles held, expanded by what each one grants (``user`` grants ``writer`` and ``reader``)."""
        return frozenset().union(*(ROLE_GRANTS.get(role, {role}) for role in self.roles))

    @property
    def is_admin(self) -> bool:
        """Admins may see and act on every user's resources."""
        return ROLE_ADMIN in self.roles

    @property
    def is_service(self) -> bool:
        """Services call each other on behalf of users and may record on their behalf."""
        return ROLE_SERVICE in self.roles

    def require_role(self, *roles: str) -> None:
        """Raise PERMISSION_DENIED unless the principal holds (or is granted) one of ``roles``."""
        if not self.grants.intersection(roles):
            raise PermissionDenied(
                f"{self.user_id!r} needs one of the roles {sorted(roles)}", reason="ROLE_REQUIRED",
                metadata={"roles": ",".join(sorted(roles))},
            )

    def can_see(self, owner: str) -> bool:
        """Whether this principal may read a resource owned by ``owner``."""
        return self.is_admin or self.is_service or owner == self.user_id


_current: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("lathe_principal", default=None)


def current_principal() -> Principal:
    """The authenticated caller of the RPC being handled."""
    principal = _current.get()
    if principal is None:
        raise Unauthenticated("no authenticated principal for this call")
    return principal


def set_current_principal(principal: Principal | None) -> contextvars.Token:
    """Bind ``principal`` to the current task (done by the auth interceptor)."""
    return _current.set(principal)


def reset_current_principal(token: contextvars.Token) -> None:
    """Undo :func:`set_current_principal`."""
    _current.reset(token)


def hash_token(token: str) -> str:
    """The sha256 hex digest a token is stored under."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh random bearer token (256 bits, URL-safe)."""
    return "lathe_" + secrets.token_urlsafe(32)


class TokenAuthenticator:
    """Resolves ``authorization: Bearer <token>`` metadata to a :class:`Principal`."""

    def __init__(self, principals_by_digest: Mapping[str, Principal]) -> None:
        self._by_digest = dict(principals_by_digest)

    @classmethod
    def from_file(cls, path: Path) -> TokenAuthenticator:
        """Load the tokens file; a missing file means no token is accepted."""
        if not path.exists():
            return cls({})
        try:
            data = json.loads(path.read_text())
            entries = data["tokens"]
            principals = {
                entry["sha256"]: Principal(entry["user"], frozenset(entry.get("roles", [ROLE_USER])))
                for entry in entries
            }
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"tokens file {path} is malformed: {exc}") from exc
        return cls(principals)

    def authenticate(self, metadata: Iterable[tuple[str, str | bytes]] | None) -> Principal:
        """The principal of the bearer token in ``metadata``; UNAUTHENTICATED if missing or unknown."""
        header = None
        for key, value in metadata or ():
            if key == "authorization":
                header = value.decode() if isinstance(value, bytes) else value
                break
        if header is None:
            raise Unauthenticated(
                "missing 'authorization: Bearer <token>' metadata", reason="MISSING_CREDENTIALS"
            )
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("authorization metadata must be 'Bearer <token>'", reason="MALFORMED_CREDENTIALS")
        principal = self._by_digest.get(hash_token(token.strip()))
        if principal is None:
            raise Unauthenticated("unknown or revoked token", reason="INVALID_TOKEN")
        return principal


def write_tokens_file(path: Path, entries: Iterable[tuple[str, str, Iterable[str]]]) -> None:
    """Write a tokens file (mode 0600) from ``(token, user, roles)`` triples, storing only digests."""
    payload = {
        "tokens": [
            {"sha256": hash_token(token), "user": user, "roles": sorted(roles)} for token, user, roles in entries
        ]
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(payload, handle, indent=2)
    tmp.replace(path)
