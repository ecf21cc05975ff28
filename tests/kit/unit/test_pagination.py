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


def test_keyset_pages_walk_nullable_keys_once_with_nulls_last():
    import sqlite3

    from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select

    from lathe.kit.keyset import keyset_after, order_clauses

    table = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("score", Integer))
    engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(":memory:"))
    table.metadata.create_all(engine)
    rows = [{"id": i, "score": None if i % 3 == 0 else i % 5} for i in range(1, 23)]
    columns = {"id": table.c.id, "score": table.c.score}
    with engine.begin() as conn:
        conn.execute(insert(table), rows)
        for descending in (False, True):
            keys = [SortKey("score", descending), SortKey("id")]
            seen, last = [], None
            while True:
                query = select(table).order_by(*order_clauses(columns, keys, nullable={"score"})).limit(4)
                if last is not None:
                    query = query.where(keyset_after(columns, keys, last, nullable={"score"}))
                page = conn.execute(query).all()
                if not page:
                    break
                seen += page
                last = [page[-1].score, page[-1].id]
            assert sorted(r.id for r in seen) == list(range(1, 23)), descending
            scores = [r.score for r in seen]
            non_null = [s for s in scores if s is not None]
            assert scores[len(non_null):] == [None] * (len(scores) - len(non_null))
            assert non_null == sorted(non_null, reverse=descending)
