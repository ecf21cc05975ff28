"""Bearer tokens resolve to principals; anything else is UNAUTHENTICATED."""

from __future__ import annotations

import json

import pytest

from lathe.kit.auth import TokenAuthenticator, write_tokens_file
from lathe.kit.errors import Unauthenticated
from lathe.kit.home import Home


def test_tokens_resolve_to_principals_and_the_file_holds_no_secret(tmp_path):
    path = tmp_path / "tokens.json"
    write_tokens_file(path, [("s3cret-a", "alice", ["user"]), ("s3cret-root", "root", ["admin"])])
    assert "s3cret" not in path.read_text()
    assert path.stat().st_mode & 0o777 == 0o600
    auth = TokenAuthenticator.from_file(path)
    alice = auth.authenticate([("authorization", "Bearer s3cret-a")])
    assert alice.user_id == "alice" and not alice.is_admin
    assert auth.authenticate([("authorization", "bearer s3cret-root")]).is_admin


@pytest.mark.parametrize("metadata, reason", [
    ([], "MISSING_CREDENTIALS"),
    ([("authorization", "Basic abc")], "MALFORMED_CREDENTIALS"),
    ([("authorization", "Bearer ")], "MALFORMED_CREDENTIALS"),
    ([("authorization", "Bearer nope")], "INVALID_TOKEN"),
])
def test_missing_malformed_or_unknown_tokens_are_refused(tmp_path, metadata, reason):
    path = tmp_path / "tokens.json"
    write_tokens_file(path, [("good", "alice", ["user"])])
    with pytest.raises(Unauthenticated) as caught:
        TokenAuthenticator.from_file(path).authenticate(metadata)
    assert caught.value.reason == reason


def test_home_creates_admin_and_service_tokens_once(tmp_path):
    home = Home(tmp_path / "h")
    home.ensure()
    admin = home.admin_token()
    home.ensure()
    assert home.admin_token() == admin and admin != home.service_token()
    users = {e["user"]: e["roles"] for e in json.loads(home.tokens_file.read_text())["tokens"]}
    assert users == {"admin": ["admin"], "lathe-services": ["service"]}
    auth = TokenAuthenticator.from_file(home.tokens_file)
    assert auth.authenticate([("authorization", f"Bearer {admin}")]).is_admin
