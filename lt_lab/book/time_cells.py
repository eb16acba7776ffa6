"""Times from the records in every chapter: rewrite a chapter's time table to a cell.

Before: the chapter's opening cell has a markdown table ``| profile | what runs | time on a
2-core CPU |`` whose times were typed. After (:func:`migrate`): the table keeps ``profile``
and ``what runs`` (a profile meant for a GPU says so there), and a new code cell right after
the opening cell shows :func:`lt_lab.book.times.time_table` of the chapter, the times
``lt-lab book time`` measured; its input is hidden (``remove-input``), it is tagged
``time-table`` and it is added once. Every other cell stays as it is.

    python -m lt_lab.book.time_cells chapters/*.ipynb
"""

from __future__ import annotations

import sys
from pathlib import Path

TAG = "time-table"
TAGS = ["remove-input", TAG]
HEAD = "| profile | what runs | time on"


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def two_columns(markdown: str) -> str:
    """``markdown`` with its profile table cut to ``profile | what runs``; a row whose time
    was about a GPU keeps that in its ``what runs``."""
    lines, inside = [], False
    for line in markdown.split("\n"):
        if line.startswith(HEAD):
            inside = True
            lines.append("| profile | what runs |")
        elif inside and line.startswith("|"):
            profile, runs, *time = _cells(line)
            if set(profile) <= set("-:"):
                lines.append("|---|---|")
                continue
            gpu = " ".join(time)
            lines.append(f"| {profile} | {runs}{'; ' + gpu if 'GPU' in gpu else ''} |")
        else:
            inside = False
            lines.append(line)
    return "\n".join(lines)


def time_cell(chapter: str):
    """The code cell that shows the chapter's measured times."""
    import nbformat

    cell = nbformat.v4.new_code_cell(
        f'from lt_lab.book.times import time_table\n\ntime_table("{chapter}")')
    cell.metadata["tags"] = list(TAGS)
    return cell


def migrate(notebook: Path) -> bool:
    """Rewrite ``notebook`` in place; whether it changed."""
    import nbformat

    book = nbformat.read(notebook, as_version=4)
    if any(TAG in cell.metadata.get("tags", []) for cell in book.cells):
        return False
    for index, cell in enumerate(book.cells):
        if cell.cell_type == "markdown" and HEAD in cell.source:
            cell.source = two_columns(cell.source)
            book.cells.insert(index + 1, time_cell(Path(notebook).stem))
            nbformat.write(book, notebook)
            return True
    return False


if __name__ == "__main__":
    for path in sys.argv[1:]:
        print(f"{path}: {'rewritten' if migrate(Path(path)) else 'unchanged'}")
