"""Big JSONL files parsed on every core.

Parsing is pure Python (about 40 us a record), so one process holds one core. For a big JSONL
file the loader starts worker processes (``python -m aios_assets.ingest.parallel``), each
parsing one contiguous part of the file cut at line ends; a worker writes its results in
``RANGE_BYTES`` pieces (Arrow IPC for the event rows, JSON for rejections) into a private
temporary folder and announces each piece on stdout. The loader reads the pieces back in file
order, shifts line numbers and ``seq`` as if one process had read the file, and stages them in
DuckDB inside the file's transaction, so the result is identical to a serial parse.

Workers are plain subprocesses, not ``multiprocessing``: that would re-import the caller's
``__main__`` in every child, and forking a threaded Dagster run is unsafe. A worker that finds
its parent gone stops at the next piece.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

PARALLEL_MIN_BYTES = 8 << 20
RANGE_BYTES = 4 << 20
MAX_WORKERS = 4
WORKER_MODULE = "aios_assets.ingest.parallel"


class ParseWorkerError(RuntimeError):
    """A parser worker process failed (not bad input: that is quarantined as usual)."""


def ingest_workers() -> int:
    """Parser processes for big JSONL files: ``AIOS_INGEST_WORKERS``, else one per core."""
    raw = os.environ.get("AIOS_INGEST_WORKERS", "").strip()
    if raw:
        try:
            return max(1, int(raw))
        except ValueError:
            raise ValueError(f"AIOS_INGEST_WORKERS must be a whole number, got {raw!r}") from None
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))


def line_end_after(f, offset: int, size: int) -> int:
    """The offset just past the first newline at or after ``offset`` (``size`` if none)."""
    if offset >= size:
        return size
    f.seek(offset)
    while True:
        block = f.read(1 << 16)
        if not block:
            return size
        at = block.find(b"\n")
        if at >= 0:
            return f.tell() - len(block) + at + 1


def split_ranges(path: Path, size: int, parts: int, piece: int | None = None
                 ) -> list[list[tuple[int, int]]]:
    """``parts`` contiguous lists of ``(start, end)`` pieces covering the file, each piece
    about ``piece`` bytes (default ``RANGE_BYTES``) and ending just after a newline."""
    piece = piece or RANGE_BYTES
    with path.open("rb") as f:
        bounds = [0]
        for i in range(1, parts):
            bounds.append(max(bounds[-1], line_end_after(f, size * i // parts, size)))
        bounds.append(size)
        out: list[list[tuple[int, int]]] = []
        for lo, hi in zip(bounds, bounds[1:], strict=False):
            pieces: list[tuple[int, int]] = []
            start = lo
            while start < hi:
                end = min(hi, line_end_after(f, min(hi, start + piece), hi))
                pieces.append((start, end))
                start = end
            out.append(pieces)
    return out


# --- the worker ------------------------------------------------------------------------------


def _parse_piece(path: str, name: str, source: str | None, start: int, end: int
                 ) -> tuple[pa.Table | None, list[dict], int, int]:
    """(event rows, rejection rows, events, lines) of one byte range; lines and ``seq`` count
    from the range's start."""
    import io

    from aios_assets.ingest.formats.common import Ctx
    from aios_assets.ingest.formats.jsonl import parse_jsonl
    from aios_assets.ingest.staging import event_chunks

    with open(path, "rb") as f:
        f.seek(start)
        data = f.read(end - start)
    lines = data.count(b"\n") + (0 if not data or data.endswith(b"\n") else 1)
    ctx = Ctx(path=Path(path), file=name, fmt="jsonl", source=source)

    def records():
        try:
            yield from parse_jsonl(io.BytesIO(data), ctx, file_start=start == 0)
        except Exception as exc:  # as iter_records does: a rejection, never a crash
            yield ctx.reject(None, f"internal parser error: {type(exc).__name__}: {exc}")

    out = list(event_chunks(records(), 1 << 62))
    if not out:
        return None, [], 0, lines
    table, rejections, n_events = out[0]
    return table, rejections, n_events, lines


def worker_main(argv: list[str]) -> int:
    """``python -m aios_assets.ingest.parallel SPEC_JSON``: parse the pieces, announce each."""
    spec = json.loads(argv[0])
    parent = os.getppid()
    out = Path(spec["out"])
    for i, (start, end) in enumerate(spec["pieces"]):
        if os.getppid() != parent:  # the loader died: nobody will read the rest
            return 3
        table, rejections, n_events, lines = _parse_piece(
            spec["path"], spec["name"], spec["source"], start, end)
        stem = out / f"{spec['part']}-{i}"
        if table is not None:
            with pa.OSFile(f"{stem}.arrow.tmp", "wb") as sink, \
                    pa.ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table)
            os.replace(f"{stem}.arrow.tmp", f"{stem}.arrow")
        meta = {"rejections": rejections, "events": n_events, "lines": lines,
                "table": table is not None}
        Path(f"{stem}.json").write_text(json.dumps(meta))
        print(i, flush=True)
    return 0


# --- the loader's side -----------------------------------------------------------------------


TMP_PREFIX = "aios-ingest-"


def _remove_orphaned_folders() -> None:
    """Folders left by loaders that were killed (their pid is in the name and is gone)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{TMP_PREFIX}*-*"):
        try:
            pid = int(folder.name[len(TMP_PREFIX):].split("-", 1)[0])
            os.kill(pid, 0)
        except ValueError:
            continue
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:  # alive, someone else's
            continue


def _shifted(table: pa.Table, column: str, by: int, kind: pa.DataType) -> pa.Table:
    at = table.schema.get_field_index(column)
    return table.set_column(at, column, pc.add(table[column], pa.scalar(by, kind)))


def jsonl_chunks(path: Path, name: str, source: str | None, size: int, workers: int
                 ) -> Iterator[tuple[pa.Table | None, list[dict], int]]:
    """What ``staging.event_chunks(iter_records(path))`` yields, parsed by ``workers`` processes."""
    parts = [p for p in split_ranges(path, size, workers) if p]
    _remove_orphaned_folders()
    tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-"))
    procs: list[subprocess.Popen] = []
    try:
        for part, pieces in enumerate(parts):
            spec = {"path": str(path), "name": name, "source": source, "out": str(tmp),
                    "part": part, "pieces": pieces}
            with open(tmp / f"{part}.err", "wb") as err:
                procs.append(subprocess.Popen(
                    [sys.executable, "-m", WORKER_MODULE, json.dumps(spec)],
                    stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, text=True))
        line_offset = seq_offset = 0
        for part, (proc, pieces) in enumerate(zip(procs, parts, strict=True)):
            assert proc.stdout is not None
            for i in range(len(pieces)):
                announced = proc.stdout.readline().strip()
                if announced != str(i):
                    proc.wait()
                    err = (tmp / f"{part}.err").read_text(errors="replace")[-2000:]
                    raise ParseWorkerError(
                        f"parser worker {part} for {name} stopped (exit {proc.returncode}): "
                        f"{err.strip() or 'no message'}")
                stem = tmp / f"{part}-{i}"
                meta = json.loads(Path(f"{stem}.json").read_text())
                table = None
                if meta["table"]:
                    with pa.OSFile(f"{stem}.arrow") as source_file:  # read into memory
                        table = pa.ipc.open_file(source_file).read_all()
                    table = _shifted(table, "line", line_offset, pa.int32())
                    table = _shifted(table, "seq", seq_offset, pa.int64())
                rejections = meta["rejections"]
                for r in rejections:
                    if r["line"] is not None:
                        r["line"] += line_offset
                line_offset += meta["lines"]
                seq_offset += meta["events"]
                yield table, rejections, meta["events"]
            proc.wait()
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            if proc.stdout:
                proc.stdout.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(worker_main(sys.argv[1:]))
