"""Text PostgreSQL refuses (NUL, lone surrogates) never reaches it, whichever path it takes.

The event log replaces it with U+FFFD as field issues (tests/test_field_issues.py,
tests/test_hostile_input.py); these tests cover what comes from elsewhere: an LLM's answer, and
any parameter on a connection AIOS opens (str, JSON, executemany, COPY in text and binary), plus
the parity rule that every connection is opened through ``aios_assets.shared.postgres.connect``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg.types.json import Jsonb

from aios_assets.shared.text import storable, storable_json
from aios_assets.testing.openai_server import OpenAIServer
from resources.postgres import PostgresStore, connect
from tests.conftest import ROOT
from tests.test_llm_resource import TEXT, ledger, make_llm

BAD = "a\x00b\ud800c"
CLEAN = "a\ufffdb\ufffdc"


@pytest.fixture
def db(pg_url: str) -> Iterator[str]:
    name = f"txt_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    yield urlsplit(pg_url)._replace(path=f"/{name}").geturl()
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_rule():
    assert storable(BAD) == CLEAN
    assert storable("plain") == "plain" and storable("naïve") == "naïve"
    assert storable_json({BAD: [BAD, 1, None, {"k": BAD}]}) == {CLEAN: [CLEAN, 1, None,
                                                                        {"k": CLEAN}]}


def test_a_plain_psycopg_connection_refuses_it(db: str):
    """What the guard is for: without it, one character fails the statement."""
    with psycopg.connect(db, autocommit=True) as con:
        con.execute("CREATE TABLE t (v text)")
        with pytest.raises(psycopg.DataError, match="NUL"):
            con.execute("INSERT INTO t VALUES (%s)", ("a\x00b",))


@pytest.mark.parametrize("opener", ["connect", "PostgresStore"])
def test_every_parameter_path_stores_the_replacement(db: str, opener: str):
    con_cm = (connect(db, autocommit=True) if opener == "connect"
              else PostgresStore(url=db).connect(autocommit=True))
    with con_cm as con:
        con.execute("CREATE TABLE t (how text, v text, j jsonb)")
        con.execute("INSERT INTO t VALUES ('param', %s, %s)", (BAD, Jsonb({BAD: BAD})))
        con.execute("INSERT INTO t VALUES ('binary', %b, NULL)", (BAD,))
        con.execute("INSERT INTO t VALUES ('typed', %s::text, NULL)", (BAD,))
        con.cursor().executemany("INSERT INTO t VALUES (%s, %s, NULL)", [("many", BAD)])
        with con.cursor().copy("COPY t (how, v) FROM STDIN") as copy:
            copy.write_row(("copy", BAD))
        cur = con.cursor(binary=True)
        with cur.copy("COPY t (how, v) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["text", "text"])
            copy.write_row(("copy-binary", BAD))
        rows = dict(con.execute("SELECT how, v FROM t").fetchall())
        assert rows == {k: CLEAN for k in ("param", "binary", "typed", "many", "copy",
                                           "copy-binary")}
        assert con.execute("SELECT j FROM t WHERE how = 'param'").fetchone()[0] == {
            CLEAN: CLEAN}


def test_an_llm_answer_with_nul_is_stored_and_served_from_the_cache(
        monkeypatch: pytest.MonkeyPatch, db: str):
    monkeypatch.setenv("AIOS_POSTGRES_URL", db)
    monkeypatch.delenv("AIOS_LLM_BASE_URL", raising=False)
    with OpenAIServer() as server:
        server.script("cheap-m", "fine\x00answer")
        llm = make_llm(server)
        first = llm.complete(agent="a", task="summarize", prompt=TEXT)
        again = llm.complete(agent="a", task="summarize", prompt=TEXT)
    assert first.text == "fine\ufffdanswer" and not first.degraded
    assert again.text == first.text and again.cache_hit
    assert [r["outcome"] for r in ledger(db, "a")][:1] == ["ok"]


def test_every_connection_is_opened_through_the_guard():
    """One copy of the rule: a direct ``psycopg.connect`` would bypass it."""
    direct = re.compile(r"\bpsycopg\.connect\(|\bConnection\.connect\(")
    found = [f"{p.relative_to(ROOT)}:{n}"
             for folder in ("aios_assets", "resources", "sensors")
             for p in sorted((ROOT / folder).rglob("*.py"))
             for n, line in enumerate(p.read_text().splitlines(), 1)
             if direct.search(line) and p != ROOT / "aios_assets" / "shared" / "postgres.py"]
    assert found == []
    assert Path(ROOT / "aios_assets" / "shared" / "postgres.py").read_text().count(
        "psycopg.connect(") == 1
