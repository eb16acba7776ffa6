"""How large a figure's smallest text is on the page: the site check's ``figure-text``.

Text of ``f`` pt in a figure ``w`` inches wide, shown ``s`` CSS px wide, is
``f * s / (72 * w)`` px tall on screen — whatever the dpi (issue 18: at the 690 px column,
``f * 690 / (72 w)``). Chromium measures ``s``; ``f`` and ``w`` come from the PNG itself:
when a notebook displays a figure, :func:`lt_lab.figures.png_with_text_size` writes the
smallest text size it drew (pt) and the saved width (in) into the PNG's text chunks
(:data:`TEXT_SIZE_KEY`, :data:`WIDTH_KEY`). This module reads and writes those chunks and
does the arithmetic; it imports nothing from lt_lab.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

TEXT_SIZE_KEY = "lt_lab:smallest_text_pt"
WIDTH_KEY = "lt_lab:width_in"
MIN_TEXT_PX = 9.0  # issue 18: the smallest text a reader can read at the column width
COLUMN_PX = 690  # the book's text column at 1280 px, in CSS px
SIGNATURE = b"\x89PNG\r\n\x1a\n"


def text_px(font_pt: float, width_in: float, shown_px: float = COLUMN_PX) -> float:
    """CSS px of ``font_pt`` text in a figure ``width_in`` inches wide shown ``shown_px``
    px wide: ``f * s / (72 w)`` (one point is 1/72 inch)."""
    return font_pt * shown_px / (72.0 * width_in)


def _chunks(data: bytes):
    """``(type, body, start, end)`` of each chunk of a PNG."""
    if not data.startswith(SIGNATURE):
        raise ValueError("not a PNG (bad signature)")
    at = len(SIGNATURE)
    while at + 8 <= len(data):
        (length,), kind = struct.unpack(">I", data[at:at + 4]), data[at + 4:at + 8]
        yield kind, data[at + 8:at + 8 + length], at, at + 12 + length
        at += 12 + length


def png_text(data: bytes) -> dict[str, str]:
    """The ``tEXt`` chunks of a PNG, as a dict."""
    found = {}
    for kind, body, _, _ in _chunks(data):
        if kind == b"tEXt" and b"\0" in body:
            key, value = body.split(b"\0", 1)
            found[key.decode("latin-1")] = value.decode("latin-1")
    return found


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG in pixels (its IHDR chunk)."""
    for kind, body, _, _ in _chunks(data):
        if kind == b"IHDR":
            return struct.unpack(">II", body[:8])
    raise ValueError("PNG without IHDR")


def with_png_text(data: bytes, text: dict[str, str]) -> bytes:
    """``data`` with a ``tEXt`` chunk for each item of ``text``, before the image data."""
    start = next((at for kind, _, at, _ in _chunks(data) if kind == b"IDAT"), None)
    if start is None:
        raise ValueError("PNG without IDAT")
    added = b""
    for key, value in text.items():
        body = key.encode("latin-1") + b"\0" + str(value).encode("latin-1")
        added += (struct.pack(">I", len(body)) + b"tEXt" + body
                  + struct.pack(">I", zlib.crc32(b"tEXt" + body) & 0xFFFFFFFF))
    return data[:start] + added + data[start:]


def figure_text(path: Path) -> tuple[float, float] | None:
    """``(smallest text in pt, width in inches)`` that the book's theme wrote into the PNG
    at ``path``; None for an image without them (not a PNG, or not drawn by lt_lab)."""
    try:
        text = png_text(Path(path).read_bytes())
        return float(text[TEXT_SIZE_KEY]), float(text[WIDTH_KEY])
    except (OSError, ValueError, KeyError):
        return None
