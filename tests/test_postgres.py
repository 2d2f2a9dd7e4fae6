"""The embedded Postgres: real server, pgvector with HNSW, shared by processes, clean stop."""

from __future__ import annotations

import subprocess
import sys

import psycopg

from aios_assets.shared.home import AiosHome
from resources.postgres import (
    PostgresStore,
    apply_ddl,
    embedded_running,
    embedded_url,
    resolve_url,
    stop_embedded,
)
from tests.conftest import ROOT


def test_pgvector_hnsw_nearest_neighbour(pg_url):
    apply_ddl(pg_url, "test_vectors", """
        CREATE TABLE IF NOT EXISTS test_vecs (id int PRIMARY KEY, v vector(3));
        CREATE INDEX IF NOT EXISTS test_vecs_hnsw ON test_vecs USING hnsw (v vector_cosine_ops);
    """)
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute("TRUNCATE test_vecs")
        con.execute(
            "INSERT INTO test_vecs VALUES (1, '[1,0,0]'), (2, '[0,1,0]'), (3, '[0.9,0.1,0]')"
        )
        ids = [r[0] for r in con.execute(
            "SELECT id FROM test_vecs ORDER BY v <=> '[1,0,0]' LIMIT 2").fetchall()]
        version = con.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()[0]
    assert ids == [1, 3]
    assert version.startswith("0.8")


def test_migrations_apply_once(pg_url):
    assert apply_ddl(pg_url, "once_only", "CREATE TABLE once_only_t (x int)") is True
    assert apply_ddl(pg_url, "once_only", "CREATE TABLE once_only_t (x int)") is False


def test_one_server_per_home_shared_across_processes(tmp_path):
    home = AiosHome.from_env(tmp_path)
    try:
        url = embedded_url(home)
        other = subprocess.run(
            [sys.executable, "-c",
             "import sys; from aios_assets.shared.home import AiosHome; "
             "from resources.postgres import embedded_url; "
             "print(embedded_url(AiosHome.from_env(sys.argv[1])))", str(tmp_path)],
            cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
        )
        assert other.stdout.strip() == url
        # The server outlives the process that asked for it...
        assert embedded_running(home)
        with psycopg.connect(url) as con:
            assert con.execute("select 1").fetchone() == (1,)
    finally:
        # ...and stops cleanly when asked.
        assert stop_embedded(home) is True
    assert not embedded_running(home)
    assert stop_embedded(home) is False


def test_url_from_environment_wins(pg_url, monkeypatch, tmp_path):
    monkeypatch.setenv("AIOS_POSTGRES_URL", pg_url)
    assert resolve_url(AiosHome.from_env(tmp_path / "unused")) == pg_url
    assert not (tmp_path / "unused" / "pg").exists()
    store = PostgresStore()
    store.ensure_schema()
    with store.connect() as con:
        assert con.execute("select current_database()").fetchone()[0] == "aios"
