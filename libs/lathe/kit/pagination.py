"""List paging (AIP-158): page sizes and opaque keyset page tokens tied to the request's filter and order.

A token carries the sort key of the last row returned plus a fingerprint of the query it belongs to, so a
token replayed with another filter or order is INVALID_ARGUMENT instead of a silently wrong page. Keyset
paging costs the same on page 1 and page 5,000 (an index seek, not OFFSET), and never repeats or skips a row
when rows are inserted between pages.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lathe.kit.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
_VERSION = 1


def page_size(requested: int, *, default: int = DEFAULT_PAGE_SIZE, maximum: int = MAX_PAGE_SIZE,
              field: str = "page_size") -> int:
    """0 → ``default``; above ``maximum`` → ``maximum``; negative → INVALID_ARGUMENT naming ``field``."""
    if requested < 0:
        raise InvalidArgument.for_field(field, f"must not be negative (got {requested})")
    if requested == 0:
        return default
    return min(requested, maximum)


@dataclass(frozen=True)
class PageTokenCodec:
    """Encodes and decodes page tokens; ``secret`` authenticates them so clients cannot forge keys."""

    secret: bytes = b"lathe-page-token"

    def fingerprint(self, *parts: Any) -> str:
        """A short digest of everything the token must stay consistent with (filter, order_by, parent …)."""
        blob = json.dumps(parts, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def encode(self, last_key: Sequence[Any], *, query: str) -> str:
        """A token that resumes after ``last_key`` (JSON-serialisable values) for the query ``query``."""
        body = json.dumps({"v": _VERSION, "q": query, "k": list(last_key)}, separators=(",", ":")).encode()
        mac = hmac.new(self.secret, body, hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(mac + body).decode().rstrip("=")

    def decode(self, token: str, *, query: str, field: str = "page_token") -> list[Any] | None:
        """The last key of a token from :meth:`encode`; None for an empty token; INVALID_ARGUMENT otherwise."""
        if not token:
            return None
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError) as exc:
            raise InvalidArgument.for_field(field, "is not a page token issued by this service") from exc
        mac, body = raw[:12], raw[12:]
        if not hmac.compare_digest(mac, hmac.new(self.secret, body, hashlib.sha256).digest()[:12]):
            raise InvalidArgument.for_field(field, "is not a page token issued by this service")
        data = json.loads(body)
        if data.get("v") != _VERSION:
            raise InvalidArgument.for_field(field, "was issued by an incompatible server version")
        if data.get("q") != query:
            raise InvalidArgument.for_field(
                field, "belongs to a request with another filter, order_by or parent", reason="PAGE_TOKEN_MISMATCH"
            )
        return list(data["k"])
