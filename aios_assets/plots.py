"""Small plots for the Dagster UI, with no plotting library: NumPy draws, zlib + struct encode.

An asset attaches a plot to its materialization in three forms (:func:`chart_metadata`): the
numbers as a ``MetadataValue.table`` (sortable in the UI), the PNG file under
``$AIOS_HOME/plots`` as a ``MetadataValue.path``, and the same PNG inline as a Markdown image
(a ``data:`` URI, which the UI renders in the materialization's metadata).

Typical use in an asset::

    from aios_assets.plots import chart_metadata

    rows = [{"day": d, "pass_rate": r} for d, r in history]
    metadata.update(chart_metadata(
        "pass_rate", rows, x="day", ys=["pass_rate"], title="Gate pass rate per day",
        home=warehouse.layout))

Lower level: :func:`line_chart_png` (series -> PNG file), :func:`table_metadata` (rows -> table
metadata), :func:`markdown_image` and :func:`decode_png` (tests read the pixels back).
"""

from __future__ import annotations

import base64
import math
import os
import re
import struct
import zlib
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np

from resources.home import AiosHome

Point = tuple[Any, float]  # (x: number, date or datetime; y)
Series = Mapping[str, Sequence[Point]]

# Line colours (RGB), one per series, in order.
PALETTE = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189))
INK, GRID, PAPER = (60, 60, 60), (225, 225, 225), (255, 255, 255)

# A 5x7 bitmap font: each glyph is 7 rows of 5 bits (MSB = leftmost pixel).
_FONT_ROWS = {
    "0": "0E 11 13 15 19 11 0E", "1": "04 0C 04 04 04 04 0E", "2": "0E 11 01 02 04 08 1F",
    "3": "1F 02 04 02 01 11 0E", "4": "02 06 0A 12 1F 02 02", "5": "1F 10 1E 01 01 11 0E",
    "6": "06 08 10 1E 11 11 0E", "7": "1F 01 02 04 08 08 08", "8": "0E 11 11 0E 11 11 0E",
    "9": "0E 11 11 0F 01 02 0C", "A": "0E 11 11 1F 11 11 11", "B": "1E 11 11 1E 11 11 1E",
    "C": "0E 11 10 10 10 11 0E", "D": "1C 12 11 11 11 12 1C", "E": "1F 10 10 1E 10 10 1F",
    "F": "1F 10 10 1E 10 10 10", "G": "0E 11 10 17 11 11 0F", "H": "11 11 11 1F 11 11 11",
    "I": "0E 04 04 04 04 04 0E", "J": "07 02 02 02 02 12 0C", "K": "11 12 14 18 14 12 11",
    "L": "10 10 10 10 10 10 1F", "M": "11 1B 15 15 11 11 11", "N": "11 11 19 15 13 11 11",
    "O": "0E 11 11 11 11 11 0E", "P": "1E 11 11 1E 10 10 10", "Q": "0E 11 11 11 15 12 0D",
    "R": "1E 11 11 1E 14 12 11", "S": "0F 10 10 0E 01 01 1E", "T": "1F 04 04 04 04 04 04",
    "U": "11 11 11 11 11 11 0E", "V": "11 11 11 11 11 0A 04", "W": "11 11 11 15 15 15 0A",
    "X": "11 11 0A 04 0A 11 11", "Y": "11 11 11 0A 04 04 04", "Z": "1F 01 02 04 08 10 1F",
    " ": "00 00 00 00 00 00 00", ".": "00 00 00 00 00 0C 0C", ",": "00 00 00 00 0C 04 08",
    ":": "00 0C 0C 00 0C 0C 00", "-": "00 00 00 1F 00 00 00", "$": "04 0F 14 0E 05 1E 04",
    "/": "01 01 02 04 08 10 10", "(": "02 04 08 08 08 04 02", ")": "08 04 02 02 02 04 08",
    "%": "18 19 02 04 08 13 03", "_": "00 00 00 00 00 00 1F", "+": "00 04 04 1F 04 04 00",
    "=": "00 00 1F 00 1F 00 00", "?": "0E 11 01 02 04 00 04", "'": "04 04 08 00 00 00 00",
    "<": "02 04 08 10 08 04 02", ">": "08 04 02 01 02 04 08", "#": "0A 0A 1F 0A 1F 0A 0A",
}
FONT: dict[str, tuple[int, ...]] = {
    c: tuple(int(b, 16) for b in rows.split()) for c, rows in _FONT_ROWS.items()}


# --- PNG encode / decode --------------------------------------------------------------------


def encode_png(pixels: np.ndarray) -> bytes:
    """An 8-bit RGB PNG of ``pixels`` (height x width x 3, uint8); filter 0 on every row."""
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"expected an H x W x 3 array, got shape {pixels.shape}")
    height, width = pixels.shape[:2]
    raw = np.zeros((height, width * 3 + 1), dtype=np.uint8)  # column 0: the filter byte
    raw[:, 1:] = pixels.astype(np.uint8).reshape(height, width * 3)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw.tobytes(), 9)) + chunk(b"IEND", b""))


def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of raw pixel bytes) of an 8-bit, non-interlaced RGB/RGBA PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            raise ValueError(f"bad CRC in the {kind!r} chunk")
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    if header is None:
        raise ValueError("PNG without IHDR")
    width, height, depth, color, _, _, interlace = header
    if depth != 8 or color not in (2, 6) or interlace:
        raise ValueError(f"unsupported PNG: depth {depth}, color {color}, interlace {interlace}")
    bpp = 3 if color == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 0xFF
            elif ftype == 2:
                line[i] = (line[i] + b) & 0xFF
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, rows


# --- drawing ----------------------------------------------------------------------------------


def _text(canvas: np.ndarray, x: int, y: int, text: str, color: tuple[int, int, int]) -> None:
    """Draw ``text`` with its top-left corner at (x, y); unknown characters draw as '?'."""
    h, w = canvas.shape[:2]
    for ch in text.upper():
        glyph = FONT.get(ch, FONT["?"])
        for row, bits in enumerate(glyph):
            for col in range(5):
                if bits & (1 << (4 - col)) and 0 <= y + row < h and 0 <= x + col < w:
                    canvas[y + row, x + col] = color
        x += 6


def _line(canvas: np.ndarray, x0: float, y0: float, x1: float, y1: float,
          color: tuple[int, int, int], width: int = 2) -> None:
    n = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
    xs = np.rint(np.linspace(x0, x1, n)).astype(int)
    ys = np.rint(np.linspace(y0, y1, n)).astype(int)
    h, w = canvas.shape[:2]
    for dx in range(width):
        for dy in range(width):
            cx, cy = np.clip(xs + dx, 0, w - 1), np.clip(ys + dy, 0, h - 1)
            canvas[cy, cx] = color


def _x_value(x: Any) -> float:
    if isinstance(x, datetime):
        return x.timestamp()
    if isinstance(x, date):
        return float(x.toordinal())
    return float(x)


def _label(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return _number(float(value))


def _number(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 1:
        return f"{v:.2f}".rstrip("0").rstrip(".")
    return f"{v:.4f}".rstrip("0").rstrip(".")


def render_line_chart(series: Series | Sequence[Point], title: str, *, width: int = 640,
                      height: int = 260) -> np.ndarray:
    """The chart as an H x W x 3 uint8 array (see :func:`line_chart_png`)."""
    named: dict[str, list[Point]] = (
        {k: list(v) for k, v in series.items()} if isinstance(series, Mapping)
        else {"": list(series)})
    canvas = np.full((height, width, 3), PAPER, dtype=np.uint8)
    left, right, top, bottom = 70, width - 16, 26, height - 30
    _text(canvas, 8, 8, title[: (width - 16) // 6], INK)
    points = [(x, y) for pts in named.values() for x, y in pts
              if y is not None and not math.isnan(float(y))]
    if not points:
        _text(canvas, left, (top + bottom) // 2, "no data yet", INK)
        return canvas
    xs = [_x_value(x) for x, _ in points]
    ys = [float(y) for _, y in points]
    x_lo, x_hi = min(xs), max(xs)
    y_lo, y_hi = min(0.0, min(ys)), max(ys)
    if y_hi == y_lo:
        y_hi = y_lo + 1.0
    if x_hi == x_lo:
        x_lo, x_hi = x_lo - 1.0, x_hi + 1.0

    def px(x: float) -> float:
        return left + (x - x_lo) / (x_hi - x_lo) * (right - left)

    def py(y: float) -> float:
        return bottom - (y - y_lo) / (y_hi - y_lo) * (bottom - top)

    for i in range(5):  # horizontal grid lines with their values
        yv = y_lo + (y_hi - y_lo) * i / 4
        canvas[int(round(py(yv))), left:right + 1] = GRID
        label = _number(yv)
        _text(canvas, max(2, left - 6 - 6 * len(label)), int(round(py(yv))) - 3, label, INK)
    canvas[top:bottom + 1, left] = INK
    canvas[bottom, left:right + 1] = INK
    first = min(points, key=lambda p: _x_value(p[0]))[0]
    last = max(points, key=lambda p: _x_value(p[0]))[0]
    _text(canvas, left, bottom + 8, _label(first), INK)
    end = _label(last)
    _text(canvas, right - 6 * len(end), bottom + 8, end, INK)
    legend_x = right
    for i, (name, pts) in enumerate(named.items()):
        color = PALETTE[i % len(PALETTE)]
        clean = sorted(((_x_value(x), float(y)) for x, y in pts
                        if y is not None and not math.isnan(float(y))))
        for (xa, ya), (xb, yb) in zip(clean, clean[1:], strict=False):
            _line(canvas, px(xa), py(ya), px(xb), py(yb), color)
        for xa, ya in clean:  # a dot per point, so one-point series still show
            cx, cy = int(round(px(xa))), int(round(py(ya)))
            canvas[max(0, cy - 2):cy + 3, max(0, cx - 2):cx + 3] = color
        if name:
            legend_x -= 6 * len(name) + 16
            canvas[10:15, legend_x:legend_x + 8] = color
            _text(canvas, legend_x + 11, 9, name, INK)
    return canvas


def line_chart_png(series: Series | Sequence[Point], path: Path | str, title: str, *,
                   width: int = 640, height: int = 260) -> Path:
    """Draw ``series`` (``{name: [(x, y), ...]}``, or one unnamed ``[(x, y), ...]``; x a number,
    date or datetime) as a line chart with a title, y grid values and the first and last x,
    and write it to ``path`` as a PNG (atomically: readers never see half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = encode_png(render_line_chart(series, title, width=width, height=height))
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


# --- metadata ----------------------------------------------------------------------------------


def _cell(value: Any) -> str | int | float | bool | None:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    try:
        return float(value)  # Decimal and NumPy numbers
    except (TypeError, ValueError):
        return str(value)


def _column_type(values: Sequence[Any]) -> str:
    seen = [v for v in values if v is not None]
    if seen and all(isinstance(v, bool) for v in seen):
        return "bool"
    if seen and all(isinstance(v, int) and not isinstance(v, bool) for v in seen):
        return "int"
    if seen and all(isinstance(v, int | float) and not isinstance(v, bool) for v in seen):
        return "float"
    return "string"


def table_metadata(rows: Sequence[Mapping[str, Any]],
                   columns: Sequence[str] | None = None) -> dg.TableMetadataValue:
    """``rows`` (dicts with the same keys) as a ``MetadataValue.table`` with a typed schema;
    dates become ISO strings, decimals floats."""
    cols = list(columns) if columns is not None else (list(rows[0]) if rows else [])
    cells = [{c: _cell(r.get(c)) for c in cols} for r in rows]
    schema = dg.TableSchema(columns=[
        dg.TableColumn(c, _column_type([r[c] for r in cells])) for c in cols])
    return dg.MetadataValue.table(records=[dg.TableRecord(r) for r in cells], schema=schema)


def markdown_image(png: Path | bytes, alt: str) -> dg.MarkdownMetadataValue:
    """The PNG inline as a Markdown image (a data: URI the UI renders)."""
    data = png.read_bytes() if isinstance(png, Path) else png
    safe_alt = re.sub(r"[\[\]\n]", " ", alt)
    return dg.MetadataValue.md(
        f"![{safe_alt}](data:image/png;base64,{base64.b64encode(data).decode('ascii')})")


def plots_dir(home: AiosHome | None = None) -> Path:
    """``$AIOS_HOME/plots``: where assets keep their latest charts."""
    return (home or AiosHome.from_env()).root / "plots"


def chart_metadata(name: str, rows: Sequence[Mapping[str, Any]], *, x: str, ys: Sequence[str],
                   title: str, home: AiosHome | None = None) -> dict[str, Any]:
    """Metadata for one chart: ``<name>`` (the rows as a table), ``<name>_plot`` (the PNG's
    path under ``$AIOS_HOME/plots``) and ``<name>_chart`` (the PNG inline)."""
    series = {y: [(r[x], float(r[y] or 0)) for r in rows] for y in ys}
    path = line_chart_png(series if len(ys) > 1 else series[ys[0]],
                          plots_dir(home) / f"{name}.png", title)
    return {
        name: table_metadata(rows, [x, *[c for c in rows[0] if c != x]] if rows else [x, *ys]),
        f"{name}_plot": dg.MetadataValue.path(str(path)),
        f"{name}_chart": markdown_image(path, title),
    }


__all__ = ["chart_metadata", "decode_png", "encode_png", "line_chart_png", "markdown_image",
           "plots_dir", "render_line_chart", "table_metadata"]
