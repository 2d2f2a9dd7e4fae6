"""company_key has two homes that must agree: the dbt macro (it feeds
dim_organizations.company_keys) and aios_assets.memory.fact_extraction.company_key (it looks
names up in those keys). The macro is rendered by Jinja from dbt_project/macros as dbt would,
run in DuckDB over many names, and compared with the Python function name by name."""

from __future__ import annotations

import random
from pathlib import Path

import duckdb
import jinja2

from aios_assets.memory.fact_extraction import company_key

MACROS = Path(__file__).resolve().parents[1] / "dbt_project" / "macros" / "aios_macros.sql"

BASES = [
    "Acme", "ACME", "acme corp", "Globex", "Initech", "Umbrella", "Stark Industries",
    "Wayne Enterprises", "Müller", "Crème Brûlée", "Société Générale", "Nestlé", "Ørsted",
    "Łódź Tech", "Straße Bau", "東京電力", "Zürich Re", "O'Reilly Media", "AT&T",
    "Procter & Gamble", "3M", "Coca-Cola", "Co-op", "Inco", "Sass Labs", "Ltd Partners",
    "The Company Company", "B V Holdings", "Saab", "Agfa", "ﬁnance hub", "ＡＣＭＥ",
    "İstanbul Yazılım", "Ǆemal", "Κόσμος", "Москва", "株式会社", "Ångström Å", "Æther",
    "naïve café", "Crème\u0301 combining", "", "   ", "...", "!!!", "\tTabbed\nName",
]
SUFFIXES = [
    "", "Inc.", "Inc", ", Inc.", "Ltd", "Ltd.", "Limited", "LLC", "L.L.C.", "LLP", "GmbH",
    "GMBH", "plc", "PLC", "Group", "Co.", "Corp.", "Corporation", "Company", "S.A.", "SA",
    "SAS", "S.A.S.", "SARL", "S.à r.l.", "B.V.", "BV", "B V", "b.v", "AG", "Pty Ltd",
    "Pty. Ltd.", "& Co. KG", "(UK) Ltd", "Incorporated", "Holdings, Inc.",
]
# Letters, suffix fragments, punctuation, spacing and non-ASCII in random mixtures.
PIECES = ["a", "b", "v", "s", "co", "inc", "ltd", "sa", "sas", "bv", "ag", "é", "ß", "ø", "İ",
          "ı", "ﬁ", "Ｋ", "K", "Å", "\u0301", "中", "0", "9", " ", "  ", "\t", "\n", ".", ",", "-",
          "'", "&", "(", ")", "/", "_", "\u00a0", "\u2003", "—", "’"]


def names() -> list[str]:
    out = [f"{b}{s}" if s.startswith(",") else f"{b} {s}".strip()
           for b in BASES for s in SUFFIXES]
    rng = random.Random(16)
    out += ["".join(rng.choice(PIECES) for _ in range(rng.randint(1, 12))) for _ in range(400)]
    return out


def macro_sql(column: str) -> str:
    """The SQL the dbt macro ``company_key`` renders for ``column``."""
    module = jinja2.Environment().from_string(MACROS.read_text()).module
    return str(module.company_key(column))  # type: ignore[attr-defined]


def dbt_keys(inputs: list[str]) -> list[str | None]:
    con = duckdb.connect()
    con.execute("CREATE TABLE names (i INTEGER, name VARCHAR)")
    con.executemany("INSERT INTO names VALUES (?, ?)", list(enumerate(inputs)))
    rows = con.execute(f"SELECT i, {macro_sql('name')} FROM names ORDER BY i").fetchall()
    assert [i for i, _ in rows] == list(range(len(inputs)))
    return [key for _, key in rows]


def test_python_company_key_equals_the_dbt_macro() -> None:
    inputs = names()
    assert len(inputs) > 1500
    differ = [(name, sql_key, company_key(name))
              for name, sql_key in zip(inputs, dbt_keys(inputs), strict=True)
              if (sql_key or "") != company_key(name)]  # the macro's NULL is Python's ""
    assert differ == [], f"{len(differ)} names differ (name, dbt, python): {differ[:10]}"


def test_legal_suffixes_dotted_or_not_give_one_key() -> None:
    forms = ["Acme", "ACME, Ltd.", "Acme Inc.", "Acme GmbH", "Acme B.V.", "Acme BV", "Acme SAS",
             "Acme Pty Ltd", "Acmé Corp"]
    assert {company_key(f) for f in forms} == {"acme"}
    assert set(dbt_keys(forms)) == {"acme"}
    # Punctuation only splits words; DuckDB has no compatibility folding, so neither folds "ß".
    assert company_key("Straße Bau GmbH") == "stra e bau"
    assert dbt_keys(["!!!", "Straße Bau GmbH"]) == [None, "stra e bau"]
