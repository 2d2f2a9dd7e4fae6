"""The address and display-name rule has one copy per language that must agree: the dbt macros
``email_of`` / ``display_name_of`` (they feed fct_interactions and entity resolution; the
Python-side SQL renders them too, ``aios_assets.shared.sql_rules``) and
``aios_assets.shared.text.email_of`` / ``name_of``. Both run over many inputs, compared value
by value."""

from __future__ import annotations

import random

import duckdb

from aios_assets.shared.sql_rules import sql_email_of, sql_name_of
from aios_assets.shared.text import email_of, name_of

BASES = [
    "Dana Reyes <dana@acme.io>", "dana@acme.io", " DANA@ACME.IO ", '"Reyes, Dana" <Dana@Acme.io>',
    "Dana Reyes", "<dana@acme.io>", "Dana < dana@acme.io >", "dana@localhost", "a@b",
    "Dana <not an address>", "", "  ", "x <a@b.c> y", "<a@b.c> <d@e.f>", "Dana\t<dana@acme.io>",
    "Dana@Home <dana@acme.io>", '"" <a@b.c>', "a@b.c, d@e.f", "Ünïcode Ñame <ü@ex.de>", "name@",
    "@domain.com", "<>", "Dana <dana@acme.io", "me", "Zoë  O'Brien <zoe.obrien@example.co.uk>",
    "MARÍA JOSÉ <MJ@EJEMPLO.ES>", "李雷 <li.lei@example.cn>", "Dana\u00a0Reyes <d@x.io>",
    "\tDana\t", '"Dana"', "<<a@b.c>>", "a@b.c <d@e.f>",
]
PIECES = ["a", "B", "@", ".", "<", ">", " ", "  ", '"', "com", "-", "_", "é", "\t", ",", "x@y.z",
          "Dana", "Ñ", "\n", "'", "io"]


def inputs() -> list[str]:
    rng = random.Random(17)
    return BASES + ["".join(rng.choice(PIECES) for _ in range(rng.randint(1, 12)))
                    for _ in range(3000)]


def sql_values(values: list[str]) -> list[tuple[str | None, str | None]]:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (i INTEGER, v VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(values)))
    rows = con.execute(
        f"SELECT i, {sql_email_of('v')}, {sql_name_of('v')} FROM t ORDER BY i").fetchall()
    assert [r[0] for r in rows] == list(range(len(values)))
    return [(e, n) for _, e, n in rows]


def test_python_and_the_dbt_macros_give_the_same_address_and_name() -> None:
    values = inputs()
    differ = [(v, sql, (email_of(v), name_of(v)))
              for v, sql in zip(values, sql_values(values), strict=True)
              if sql != (email_of(v), name_of(v))]
    assert differ == [], f"{len(differ)} values differ (value, sql, python): {differ[:8]}"


def test_the_rule_itself() -> None:
    cases = {
        "Dana Reyes <Dana@Acme.io>": ("dana@acme.io", "Dana Reyes"),
        " dana@acme.io ": ("dana@acme.io", None),
        "dana@localhost": (None, None),  # a bare value needs a dotted domain
        "Dana <not an address>": (None, "Dana"),
        '"Reyes, Dana" <d@x.io>': ("d@x.io", "Reyes, Dana"),
        "x <a@b.c> y": ("a@b.c", "x y"),
        "Dana Reyes": (None, "Dana Reyes"),
    }
    got = dict(zip(cases, sql_values(list(cases)), strict=True))
    assert got == cases
    assert {v: (email_of(v), name_of(v)) for v in cases} == cases
