"""How large a figure's smallest text is on the page: measured when drawn, kept in its PNG.

Text of ``f`` pt in a figure ``w`` inches wide, shown ``s`` CSS px wide, is
``f * s / (72 * w)`` px tall on screen, whatever the dpi (:func:`text_px`; issue 18: at the
book's 690 px column, ``f * 690 / (72 w)``). This is the one place of that formula and of its
constants (:data:`COLUMN_PX`, :data:`MIN_TEXT_PX`): the figures' own check
(:func:`lt_lab.figures.smallest_text_px`) and the site check's ``figure-text``
(:mod:`lt_lab.book.readability`) both use it.

``f`` and ``w`` travel in the PNG itself: :func:`png_with_text_size` and
:func:`save_with_text_size` record the smallest text matplotlib's Agg renderer drew
(:func:`text_sizes_drawn`) and the image's width into its text chunks (:data:`TEXT_SIZE_KEY`,
:data:`WIDTH_KEY`); :func:`figure_text` reads them back. :func:`record_text_sizes` makes a
notebook display every figure that way: an explicit call, for the book's notebooks, whose
figures the site check measures. This module sits below the families and the book: it
imports nothing from lt_lab, and matplotlib or IPython only inside the functions that draw.
"""

from __future__ import annotations

import inspect
import struct
import zlib
from contextlib import contextmanager
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


# --- the PNG's text chunks -----------------------------------------------------------------


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
    """``(smallest text in pt, width in inches)`` recorded in the PNG at ``path``; None for
    an image without them (not a PNG, or not drawn by lt_lab)."""
    try:
        text = png_text(Path(path).read_bytes())
        return float(text[TEXT_SIZE_KEY]), float(text[WIDTH_KEY])
    except (OSError, ValueError, KeyError):
        return None


# --- measuring what matplotlib draws ------------------------------------------------------


@contextmanager
def text_sizes_drawn(sizes: list):
    """Within the block, append to ``sizes`` the size (pt) of every non-empty text
    matplotlib's Agg renderer draws: what a reader sees, hidden axes and empty labels left
    out. The renderer's ``draw_text`` is wrapped whatever else its signature holds (its text
    ``s`` and font ``prop`` found by name, given by position or keyword), and restored."""
    from matplotlib.backends.backend_agg import RendererAgg

    draw_text = RendererAgg.draw_text
    signature = inspect.signature(draw_text)

    def recording(*args, **kwargs):
        given = signature.bind_partial(*args, **kwargs).arguments
        text, prop = given.get("s"), given.get("prop")
        if prop is not None and str(text).strip():
            sizes.append(prop.get_size_in_points())
        return draw_text(*args, **kwargs)

    RendererAgg.draw_text = recording
    try:
        yield sizes
    finally:
        RendererAgg.draw_text = draw_text


def _size_text(smallest: float, width: float) -> dict[str, str]:
    return {TEXT_SIZE_KEY: f"{smallest:g}", WIDTH_KEY: f"{width:.3f}"}


def png_with_text_size(figure):
    """The PNG a notebook shows of ``figure`` (IPython's: tight box, the figure's dpi), with
    its smallest text (pt) and its width (in) in the PNG's text chunks."""
    from IPython.core.pylabtools import print_figure

    sizes = []
    with text_sizes_drawn(sizes):
        data = print_figure(figure, "png", bbox_inches="tight")
    if not data:
        return data
    width = png_size(data)[0] / figure.dpi
    return with_png_text(data, _size_text(min(sizes, default=float("inf")), width))


def save_with_text_size(figure, path, dpi: float) -> None:
    """``figure.savefig(path)`` as a PNG whose text chunks hold its smallest text and width
    (for figures saved to files, e.g. the ledger's forest plots)."""
    sizes = []
    with text_sizes_drawn(sizes):
        figure.canvas.draw()
    smallest = min(sizes, default=float("inf"))
    figure.savefig(path, dpi=dpi, metadata=_size_text(smallest, figure.get_figwidth()))


def record_text_sizes() -> bool:
    """In a notebook, display every figure with :func:`png_with_text_size`, so that the site
    check can read its text size; outside one, do nothing. True when installed."""
    from IPython import get_ipython
    from matplotlib.figure import Figure

    shell = get_ipython()
    if shell is None or not hasattr(shell, "display_formatter"):
        return False
    try:  # the inline backend registers its own PNG formatter when first imported: first
        import matplotlib_inline.backend_inline  # noqa: F401
    except ImportError:
        pass
    shell.display_formatter.formatters["image/png"].for_type(Figure, png_with_text_size)
    return True
