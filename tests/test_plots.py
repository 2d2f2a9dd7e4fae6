"""Plots in the UI: the PNG/table helpers, and the charts that cost_ledger (spend per day) and
semantic_memory (units per build) attach to their materializations, read back pixel by pixel."""

from __future__ import annotations

import base64
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from aios_assets.plots import (
    PALETTE,
    PAPER,
    chart_metadata,
    decode_png,
    line_chart_png,
    markdown_image,
    table_metadata,
)
from tests.audit_fixtures import fresh_database


def _colours(path: Path) -> tuple[int, int, set[bytes]]:
    width, height, rows = decode_png(path.read_bytes())
    return width, height, {row[x:x + 3] for row in rows for x in range(0, len(row), 3)}


def _inline_png(md: str) -> bytes:
    m = re.fullmatch(r"!\[[^\]]*\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", md)
    assert m, md[:80]
    return base64.b64decode(m[1])


def test_line_chart_png_draws_every_series_and_decodes(tmp_path: Path):
    start = date(2026, 5, 1)
    series = {"llm": [(start + timedelta(days=i), i * 0.01) for i in range(30)],
              "adapter": [(start + timedelta(days=i), 0.002) for i in range(30)]}
    path = line_chart_png(series, tmp_path / "sub" / "spend.png", "Spend per day")
    width, height, colours = _colours(path)
    assert (width, height) == (640, 260)
    assert bytes(PAPER) in colours
    assert bytes(PALETTE[0]) in colours and bytes(PALETTE[1]) in colours  # both lines drawn
    assert not list(tmp_path.glob("sub/.*.tmp"))  # written atomically
    # One point and no points still make a valid image (an empty ledger on day one).
    one = line_chart_png([(1, 5.0)], tmp_path / "one.png", "one")
    assert bytes(PALETTE[0]) in _colours(one)[2]
    empty = line_chart_png({"x": []}, tmp_path / "empty.png", "nothing yet")
    assert bytes(PALETTE[0]) not in _colours(empty)[2]
    with pytest.raises(ValueError, match="bad CRC"):
        data = bytearray(path.read_bytes())
        data[40] ^= 0xFF  # inside IDAT
        decode_png(bytes(data))


def test_table_metadata_types_and_markdown_image(tmp_path: Path, aios_home: Path):
    rows = [{"day": date(2026, 5, 1), "usd": 0.5, "calls": 3, "ok": True, "note": None},
            {"day": date(2026, 5, 2), "usd": 1, "calls": 0, "ok": False, "note": "x"}]
    table = table_metadata(rows)
    assert [(c.name, c.type) for c in table.schema.columns] == [
        ("day", "string"), ("usd", "float"), ("calls", "int"), ("ok", "bool"),
        ("note", "string")]
    assert table.records[0].data == {"day": "2026-05-01", "usd": 0.5, "calls": 3, "ok": True,
                                     "note": None}
    path = line_chart_png([(1, 1.0), (2, 3.0)], tmp_path / "p.png", "t")
    md = markdown_image(path, "a [chart]")
    assert _inline_png(md.value) == path.read_bytes()
    meta = chart_metadata("growth", [{"at": 1, "units": 2}, {"at": 2, "units": 5}], x="at",
                          ys=["units"], title="growth")
    assert set(meta) == {"growth", "growth_plot", "growth_chart"}
    assert Path(meta["growth_plot"].value) == aios_home / "plots" / "growth.png"


@pytest.fixture
def fresh_pg(aios_home: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    url = fresh_database(pg_url)
    monkeypatch.setenv("AIOS_POSTGRES_URL", url)
    monkeypatch.delenv("AIOS_LLM_BASE_URL", raising=False)
    return url


def test_cost_ledger_carries_spend_per_day_table_and_chart(fresh_pg: str, aios_home: Path):
    import psycopg

    from aios_assets.costs import cost_ledger
    from resources.llm import LLMResource
    from resources.offline_llm import summarize_prompt
    from resources.warehouse import DuckDBWarehouse

    llm = LLMResource()
    for i in range(3):
        llm.complete(agent="memory", task="summarize",
                     prompt=summarize_prompt([f"Dana will pay ${i}00 on May 2."]))
    # A paid call 3 days ago (as a real endpoint would have recorded it).
    with psycopg.connect(fresh_pg, autocommit=True) as con:
        con.execute(
            """INSERT INTO aios.llm_calls (call_id, called_at, agent, task, tier, model,
                   prompt_hash, prompt_tokens, completion_tokens, cost_usd, cache_hit, degraded,
                   outcome, attempts, latency_ms)
               VALUES (gen_random_uuid(), now() - interval '3 days', 'triage', 'classify',
                       'cheap', 'cheap-m', 'h', 10, 5, 0.25, false, false, 'ok', 1, 9)""")
    with dg.instance_for_test() as instance:
        result = dg.materialize([cost_ledger], instance=instance,
                                resources={"warehouse": DuckDBWarehouse(), "llm": llm})
    (mat,) = result.asset_materializations_for_node("cost_ledger")
    meta = mat.metadata
    rows = [r.data for r in meta["spend_per_day"].value.records]
    today = datetime.now(UTC).date()
    assert len(rows) == 30 and rows[-1]["day"] == today.isoformat()
    assert rows[0]["day"] == (today - timedelta(days=29)).isoformat()
    by_day = {r["day"]: r for r in rows}
    assert by_day[today.isoformat()]["llm_calls"] == 3
    assert by_day[(today - timedelta(days=3)).isoformat()]["llm_usd"] == pytest.approx(0.25)
    assert meta["spend_last_30d_usd"].value == pytest.approx(0.25)
    plot = Path(meta["spend_per_day_plot"].value)
    assert plot == aios_home / "plots" / "spend_per_day.png"
    width, height, colours = _colours(plot)
    assert (width, height) == (640, 260) and bytes(PALETTE[0]) in colours
    assert _inline_png(meta["spend_per_day_chart"].value) == plot.read_bytes()


def test_semantic_memory_charts_units_per_build(fresh_pg: str, aios_home: Path):
    from aios_assets.ingest.loader import ingest_paths
    from aios_assets.memory.semantic import semantic_memory
    from resources.embeddings import EmbeddingsResource
    from resources.postgres import PostgresStore
    from resources.warehouse import DuckDBWarehouse
    from tests.conftest import event, write_jsonl

    warehouse = DuckDBWarehouse()
    resources = {"warehouse": warehouse, "postgres": PostgresStore(),
                 "embeddings": EmbeddingsResource()}

    def add(n0: int, n: int) -> None:
        path = write_jsonl(aios_home / f"chat-{n0}.jsonl", [
            event(f"g-{i}", f"message number {i} about the pottery class and the beagle {i}")
            for i in range(n0, n0 + n)])
        with warehouse.connect() as con:
            ingest_paths(con, [path])

    builds = []
    with dg.instance_for_test() as instance:
        for n0, n in ((0, 3), (3, 4)):
            add(n0, n)
            result = dg.materialize([semantic_memory], instance=instance, resources=resources)
            (mat,) = result.asset_materializations_for_node("semantic_memory")
            builds.append(mat.metadata)
    first, second = builds
    growth = [r.data for r in second["memory_growth"].value.records]
    assert [r["units"] for r in growth] == [first["units"].value, second["units"].value]
    assert growth[1]["units"] > growth[0]["units"] > 0
    assert growth[1]["embedded_now"] == second["embedded_now"].value
    assert [c.name for c in second["memory_growth"].value.schema.columns] == [
        "built_at", "units", "embedded_now"]
    plot = Path(second["memory_growth_plot"].value)
    assert plot.parent == aios_home / "plots"
    assert bytes(PALETTE[0]) in _colours(plot)[2]
    assert _inline_png(second["memory_growth_chart"].value) == plot.read_bytes()
