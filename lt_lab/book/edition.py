"""Editions of the site: the book as published, and a student edition without solutions.

The student edition is the same site built with sphinx-exercise's ``hide_solutions`` on:
every ``solution`` directive is left out of the HTML while the exercises keep their numbers.
It is staged and built in a folder of its own (``_build/student/``), so the published site is
untouched. The chapter notebooks themselves still hold the solutions (a student opening one
in Colab can read them): :func:`strip_solutions` writes copies without them.
"""

from __future__ import annotations

import re
from pathlib import Path

STUDENT_SUFFIX = " (student edition)"
SOLUTION = re.compile(r"(`{3,}|:{3,})\{solution\}.*?\n\1[ \t]*(\n|$)", re.DOTALL)


def student_config(text: str) -> str:
    """``_config.yml``'s text for the student edition: ``hide_solutions: true`` under
    ``sphinx: config:``, and the title marked."""
    import yaml

    config = yaml.safe_load(text)
    config["title"] = str(config.get("title", "")) + STUDENT_SUFFIX
    sphinx = config.setdefault("sphinx", {}) or {}
    config["sphinx"] = sphinx
    sphinx.setdefault("config", {})["hide_solutions"] = True
    return yaml.safe_dump(config, sort_keys=False, allow_unicode=True)


def write_config(source: Path, target: Path, student: bool = False) -> Path:
    """Copy ``_config.yml`` to the staging folder (the student edition's when ``student``)."""
    text = Path(source).read_text()
    Path(target).write_text(student_config(text) if student else text)
    return Path(target)


def strip_solutions(notebook: Path, target: Path) -> int:
    """Write ``notebook`` to ``target`` without its ``{solution}`` blocks (fenced with
    backticks or colons); how many were removed. Cells left empty are dropped."""
    import nbformat

    book = nbformat.read(notebook, as_version=4)
    removed, kept = 0, []
    for cell in book.cells:
        if cell.cell_type == "markdown":
            cell.source, count = SOLUTION.subn("", cell.source)
            removed += count
            if count and not cell.source.strip():
                continue
        kept.append(cell)
    book.cells = kept
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(book, target)
    return removed
