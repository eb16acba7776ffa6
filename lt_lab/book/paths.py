"""Where the book lives: the repository's folders, and which chapters it has.

    chapters/*.ipynb (clean sources) ──papermill──► _build/src/chapters/*.ipynb (executed)
    _config.yml, _toc.yml, book/ ──copied──────────► _build/src/
    claims published by each chapter ──────────────► _build/src/book/ledger.md
    _build/src ──jupyter-book build──► _build/html

A chapter executed with parameters other than its defaults goes to a folder of its own,
``_build/variants/<parameters>/`` (its executed copy and its claims), so that neither the site
nor the ledger picks it up (:func:`lt_lab.book.execute.destination`).

``$LT_LAB_BOOK_BUILD`` moves the whole build folder (read once, at import) into that folder's
``_build/``, e.g. to build the site into a temporary folder (jupyter-book always writes to
``<folder>/_build/html``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

BUILD_ENV = "LT_LAB_BOOK_BUILD"
ROOT = Path(__file__).resolve().parents[2]  # lt_lab/book/paths.py -> the repository
CHAPTERS = ROOT / "chapters"
BUILD = (Path(os.environ[BUILD_ENV]) if os.environ.get(BUILD_ENV) else ROOT) / "_build"
STAGE = BUILD / "src"  # the site's sources: config, prose pages, executed chapters
CLAIMS = BUILD / "claims"  # where executed chapters publish their claims
VARIANTS = BUILD / "variants"  # executions with non-default parameters, one folder each


SLIDE_SIZE = (1280, 800)  # a teaching deck's slide (reveal.js width, height), in CSS px
MAX_SLIDES = 15  # the most slides a chapter's teaching deck may have
CHAPTER_NAME = re.compile(r"\d\d[a-z]?_.+\.ipynb")  # 04_neural_collapse, and its part II 04b_...


def chapter_notebooks(directory: Path = CHAPTERS) -> list[Path]:
    """The chapter notebooks in ``directory`` (the sources by default), in order (``04_*``
    before ``04b_*``)."""
    return sorted(path for path in Path(directory).glob("[0-9][0-9]*_*.ipynb")
                  if CHAPTER_NAME.fullmatch(path.name))


def toc_chapters() -> list[Path]:
    """The chapter notebooks the table of contents (``_toc.yml``) lists, in its order."""
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [ROOT / f"{name}.ipynb" for name in _files(toc) if name.startswith("chapters/")]


def _files(node):
    """Every ``file:`` entry of a parsed ``_toc.yml``, depth first."""
    if isinstance(node, dict):
        if "file" in node:
            yield str(node["file"])
        for value in node.values():
            yield from _files(value)
    elif isinstance(node, list):
        for item in node:
            yield from _files(item)
