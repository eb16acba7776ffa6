"""One display of the claims per chapter: rewrite a chapter's claim cells to it.

Before: the claims cell ends with a pandas table of the declared claims, the verdict cell
(``# NBVAL_CHECK_OUTPUT``) prints the verdicts as text, and the cell after it shows them again
as a pandas table (text cut with "...", raw BibTeX keys, the verdict last). After
(:func:`migrate`): the claims cell shows :func:`lt_lab.book.claims.show` of the declared
claims (``view="declared"``), the verdict cell is tagged ``remove-cell`` (nbval still checks
its output; readers do not see it twice) and the next cell shows ``claims.show(checked)``.
Only those cells change; outputs, ids and every other cell stay as they are.

    python -m lt_lab.book.verdict_cells chapters/*.ipynb
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from lt_lab.book.freeze import CHECK_MARK

HIDDEN = "remove-cell"  # myst-nb leaves the cell out of the page; nbval ignores the tag
CALL = "claims.claims_table("
COLUMNS = re.compile(r"\s*\[\[[^\]]*\]\]")  # the columns picked: [["paper", ...]]


def _replace_tables(source: str, show) -> str:
    """Every ``claims.claims_table(ARGUMENT)[[...]]`` of ``source`` as ``show(ARGUMENT)``."""
    while CALL in source:
        start = source.index(CALL)
        depth, end = 1, start + len(CALL)
        while depth:  # the parenthesis that closes the call
            depth += {"(": 1, ")": -1}.get(source[end], 0)
            end += 1
        picked = COLUMNS.match(source, end)
        stop = picked.end() if picked else end
        source = source[:start] + show(source[start + len(CALL):end - 1].strip()) + source[stop:]
    return source


def _declared(argument: str) -> str:
    argument = re.sub(r"^list\((.*)\)$", r"\1", argument)  # show takes any iterable
    return f'claims.show({argument}, view="declared")'


def _verdicts(argument: str) -> str:
    return f"claims.show({argument})"


def migrate_cells(cells) -> list[str]:
    """Rewrite the claim cells of a notebook's ``cells`` in place; what changed, in words."""
    changed = []
    for index, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        tags = cell.metadata.get("tags", [])
        if "claims" in tags and CALL in cell.source:
            cell.source = _replace_tables(cell.source, _declared)
            changed.append(f"cell {index}: the declared claims as claims.show(view='declared')")
        elif CHECK_MARK in cell.source and "print_verdicts" in cell.source \
                and HIDDEN not in tags:
            cell.metadata["tags"] = [*tags, HIDDEN]
            changed.append(f"cell {index}: the nbval verdict cell tagged {HIDDEN}")
        elif "claims.publish(" in cell.source and CALL in cell.source:
            cell.source = _replace_tables(cell.source, _verdicts)
            changed.append(f"cell {index}: the verdicts as claims.show(checked)")
    return changed


def migrate(notebook: str | Path) -> list[str]:
    """Rewrite ``notebook``'s claim cells (see the module's docstring); what changed."""
    import nbformat

    notebook = Path(notebook)
    book = nbformat.read(notebook, as_version=4)
    changed = migrate_cells(book.cells)
    if changed:
        nbformat.write(book, notebook)
    return changed


if __name__ == "__main__":
    for path in sys.argv[1:]:
        for line in migrate(path) or ["nothing to change"]:
            print(f"{Path(path).name}: {line}")
