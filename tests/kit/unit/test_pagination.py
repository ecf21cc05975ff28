"""Page sizes, page tokens and order_by parsing."""

from __future__ import annotations

import pytest

from lathe.kit.errors import InvalidArgument
from lathe.kit.keyset import SortKey, parse_order_by
from lathe.kit.pagination import MAX_PAGE_SIZE, PageTokenCodec, page_size


def test_page_size_defaults_caps_and_rejects_negative():
    assert page_size(0) == 50
    assert page_size(7) == 7
    assert page_size(10**6) == MAX_PAGE_SIZE
    with pytest.raises(InvalidArgument) as caught:
        page_size(-1)
    assert caught.value.field_violations[0].field == "page_size"


def test_token_round_trips_and_is_bound_to_its_query():
    codec = PageTokenCodec()
    token = codec.encode(["2026-01-01T00:00:00+00:00", "m7"], query="q1")
    assert codec.decode(token, query="q1") == ["2026-01-01T00:00:00+00:00", "m7"]
    assert codec.decode("", query="q1") is None
    with pytest.raises(InvalidArgument) as caught:
        codec.decode(token, query="q2")
    assert caught.value.reason == "PAGE_TOKEN_MISMATCH"


@pytest.mark.parametrize("token", ["garbage", "!!!", "QUJD", "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo"])
def test_forged_or_corrupt_tokens_are_invalid_argument(token):
    codec = PageTokenCodec()
    with pytest.raises(InvalidArgument) as caught:
        codec.decode(token, query="q")
    assert caught.value.field_violations[0].field == "page_token"


def test_a_token_signed_with_another_secret_is_refused():
    token = PageTokenCodec(secret=b"other").encode([1], query="q")
    with pytest.raises(InvalidArgument):
        PageTokenCodec().decode(token, query="q")


def test_order_by_parsing():
    assert parse_order_by("", ["name", "create_time"], default="name") == [SortKey("name")]
    assert parse_order_by("create_time desc, name", ["name", "create_time"], default="name") == [
        SortKey("create_time", True), SortKey("name")]
    for bad in ("creator", "name sideways", "name, name", "a b c"):
        with pytest.raises(InvalidArgument) as caught:
            parse_order_by(bad, ["name", "create_time"], default="name")
        assert caught.value.field_violations[0].field == "order_by"
