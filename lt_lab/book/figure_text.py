"""The site check's ``figure-text`` reads what :mod:`lt_lab.figure_text` measures.

The measurement (the text-size formula, its constants, the PNG's text chunks, the renderer
that records the sizes drawn) lives below the families and the book, in
:mod:`lt_lab.figure_text`, so that the figures of every layer can write it; the book's site
check (:mod:`lt_lab.book.site`, :mod:`lt_lab.book.readability`) reads it under this name.
"""

from __future__ import annotations

from lt_lab.figure_text import (  # noqa: F401  (the book's names for them)
    COLUMN_PX,
    MIN_TEXT_PX,
    TEXT_SIZE_KEY,
    WIDTH_KEY,
    figure_text,
    png_size,
    png_text,
    text_px,
    with_png_text,
)
