"""The real-world corpus (files written by other projects) through the whole ``aios ingest``.

One run of the real CLI (ingest, then dbt, memory and agents) in a fresh home; then every file's
outcome must equal tests/corpus/real/EXPECTED.csv. When a parser change improves (or worsens) a
file, the test fails with the diff; regenerate the table with
``python -m tests.real_corpus --update`` (or ``AIOS_UPDATE_EXPECTED=1 pytest
tests/test_real_corpus.py``) and review the CSV diff in the commit.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests import real_corpus as rc


@pytest.fixture(scope="module")
def corpus_run() -> rc.CorpusRun:
    run = rc.run_corpus()  # in its own temporary folder (see run_corpus)
    print(f"real corpus: aios ingest took {run.seconds:.0f}s; {rc.summary(run.outcomes)}")
    return run


def test_corpus_is_big_enough_and_small() -> None:
    files = rc.corpus_files()
    assert len(files) >= 300
    sizes = [(rc.CORPUS / f).stat().st_size for f in files]
    assert max(sizes) <= 1 << 20 and sum(sizes) < 20 << 20
    # every origin folder says where its files come from and under which licence
    for origin in {f.split("/")[0] for f in files}:
        assert (rc.CORPUS / origin / "README.md").is_file(), origin


def test_no_crash(corpus_run: rc.CorpusRun) -> None:
    tail = "\n".join(corpus_run.step_failures) or corpus_run.stderr[-3000:]
    assert corpus_run.returncode in rc.OK_CODES, tail
    wholly_rejected = any(o.events == 0 and o.quarantined for o in corpus_run.outcomes.values())
    assert (corpus_run.returncode == 3) == wholly_rejected, tail
    assert "Traceback" not in corpus_run.stderr, tail
    assert corpus_run.report is not None and corpus_run.report["success"], tail
    lost = [f for f, o in corpus_run.outcomes.items() if not o.ingested]
    assert not lost, f"files with no row in ingested_files: {lost}"


def test_every_file_outcome_equals_table(corpus_run: rc.CorpusRun) -> None:
    assert corpus_run.outcomes, corpus_run.stderr[-3000:]
    if os.environ.get("AIOS_UPDATE_EXPECTED") == "1":
        rc.write_expected(corpus_run.outcomes)
        return
    changes = rc.diff(rc.load_expected(), corpus_run.outcomes)
    assert not changes, (
        f"{len(changes)} file outcome(s) differ from {Path(rc.EXPECTED).name} "
        "(regenerate with `python -m tests.real_corpus --update` if the change is wanted):\n"
        + "\n".join(changes[:200])
    )
