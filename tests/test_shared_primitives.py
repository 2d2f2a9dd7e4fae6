"""The primitives with one home each (issue 16): every caller gets the same rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from email.utils import format_datetime

import duckdb
import httpx
import openai
import pytest

from aios_assets.memory.working import compact_body
from aios_assets.shared.db import has_relation
from aios_assets.shared.http import parse_retry_after, retry_after_s
from aios_assets.shared.jsonable import jsonable
from aios_assets.shared.text import EMAIL_RE, GREETING_RE, SIGNOFF_RE, estimate_tokens, summary_line


def rate_limited(headers: dict[str, str]) -> openai.RateLimitError:
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    return openai.RateLimitError("slow down", body=None,
                                 response=httpx.Response(429, headers=headers, request=request))


def test_retry_after_from_an_sdk_error() -> None:
    assert retry_after_s(rate_limited({"retry-after-ms": "1500", "retry-after": "9"})) == 1.5
    assert retry_after_s(rate_limited({"retry-after-ms": "soon", "retry-after": "9"})) == 9.0
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 < retry_after_s(rate_limited({"retry-after": later})) <= 30
    assert retry_after_s(rate_limited({})) is None and retry_after_s(ValueError()) is None
    assert parse_retry_after(" 4 ") == 4.0 and parse_retry_after("-3") == 0.0


def test_token_estimate() -> None:
    assert [estimate_tokens(t) for t in (None, "", "a", "abcd", "abcde")] == [0, 0, 1, 1, 2]


def test_has_relation_is_the_current_schema_only() -> None:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA other; CREATE TABLE other.t (x INT); CREATE VIEW v AS SELECT 1")
    assert has_relation(con, "v") and not has_relation(con, "t")
    con.execute("CREATE TABLE t (x INT)")
    assert has_relation(con, "t")


def test_jsonable_records_and_sql_cells() -> None:
    plus2 = timezone(timedelta(hours=2))
    row = {"at": datetime(2026, 3, 1, 12, tzinfo=plus2), "naive": datetime(2026, 3, 1, 12),
           "n": Decimal("2.5"), "b": b"hi\xff", 7: ("x", {1, 2} - {2})}
    assert jsonable(row) == {"at": "2026-03-01T10:00:00+00:00",
                             "naive": "2026-03-01T12:00:00+00:00", "n": 2.5,
                             "b": "hi\ufffd", "7": ["x", [1]]}
    cell = jsonable(row, utc=False, binary="hex")
    assert cell["at"] == "2026-03-01T12:00:00+02:00" and cell["naive"] == "2026-03-01T12:00:00"
    assert cell["b"] == "6869ff" and jsonable(timedelta(days=1)) == "1 day, 0:00:00"


def test_greeting_and_sign_off_are_one_pair() -> None:
    for line in ("Hi Dana,", "Good evening all,", "Good afternoon", "hiya!", "Dear Ms Reyes"):
        assert GREETING_RE.match(line), line
    for line in ("Hello, can we move the call?", "Hi. The numbers are in."):
        assert not GREETING_RE.match(line), line
    for line in ("Best,", "Kind regards", "Thanks again!", "Cheers, Maya", "Warmly", "Yours"):
        assert SIGNOFF_RE.match(line), line
    assert not SIGNOFF_RE.match("Thanks for the update on the invoice.")
    mail = "Good evening Ada,\n\nThe invoice is attached.\n\nCheers, Maya\nP.S. ignore"
    assert summary_line(mail) == "The invoice is attached."
    assert compact_body(mail) == "The invoice is attached."


def test_email_in_running_text() -> None:
    text = "Write to 'ada.l@analytical.example', or o'brien+x@mail.co.uk. Not @maya or a@b."
    assert EMAIL_RE.findall(text) == ["ada.l@analytical.example", "o'brien+x@mail.co.uk"]
    assert EMAIL_RE.fullmatch("zoë@straße.example")


def test_jsonable_as_an_event_payload_keeps_what_the_source_wrote() -> None:
    # the front matter profile: offsets kept, bytes as base64, sets sorted, wide ints as text,
    # and nesting bounded (untrusted YAML)
    plus2 = timezone(timedelta(hours=2))
    value = {"at": datetime(2026, 3, 1, 10, tzinfo=plus2), "n": 2**70, "b": b"hi",
             "s": {"b", "a"}, 1: (1, 2)}
    assert jsonable(value, utc=False, binary="base64", max_depth=100, int64=True) == {
        "at": "2026-03-01T10:00:00+02:00", "n": str(2**70), "b": "aGk=", "s": ["a", "b"],
        "1": [1, 2]}
    deep: list = []
    for _ in range(150):
        deep = [deep]
    with pytest.raises(ValueError, match="nested too deeply"):
        jsonable(deep, max_depth=100)
    assert jsonable(2**70) == 2**70  # other callers keep Python's wide ints
