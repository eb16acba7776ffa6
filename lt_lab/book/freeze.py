"""Freezing the claim verdicts: the outputs nbval compares against in every test run.

A chapter's ``# NBVAL_CHECK_OUTPUT`` cells print its claim verdicts. ``freeze`` executes
the chapter at its defaults (from the stored records) and copies those cells' outputs into
the clean source; every other cell stays without outputs. A change to lt_lab that moves a
verdict, or a number in it, then fails ``pytest --nbval-lax`` until the chapter is frozen
again.
"""

from __future__ import annotations

import os
from pathlib import Path

from lt_lab.book.paths import BUILD

CHECK_MARK = "# NBVAL_CHECK_OUTPUT"


def freeze(notebook: str | Path) -> list[str]:
    """Store the outputs of the ``# NBVAL_CHECK_OUTPUT`` cells in the source notebook;
    return the ids of the frozen cells."""
    import nbformat

    notebook = Path(notebook).resolve()
    executed = {cell.id: cell for cell in _execute_at_defaults(notebook).cells}
    source = nbformat.read(notebook, as_version=4)
    frozen = [cell.id for cell in source.cells if _freeze_cell(cell, executed)]
    partial = notebook.with_name(f".{notebook.stem}.partial.ipynb")
    nbformat.write(source, partial)
    os.replace(partial, notebook)
    return frozen


def _execute_at_defaults(notebook: Path):
    """The notebook executed by papermill at its defaults, in a scratch folder of the build."""
    import nbformat
    import papermill

    scratch = BUILD / "freeze" / notebook.name
    scratch.parent.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(str(notebook), str(scratch), kernel_name="python3",
                               cwd=str(notebook.parent), progress_bar=False)
    return nbformat.read(scratch, as_version=4)


def _freeze_cell(cell, executed: dict) -> bool:
    """Give a check cell its executed outputs and clear every other code cell; frozen?"""
    if cell.cell_type != "code":
        return False
    if CHECK_MARK not in cell.source:
        cell.outputs, cell.execution_count = [], None
        return False
    # nbval skips a cell with outputs but no execution count
    cell.outputs = [strip_metadata(output) for output in executed[cell.id].outputs]
    cell.execution_count = executed[cell.id].execution_count
    return True


def strip_metadata(output):
    """An output without its execution count (an ``execute_result`` keeps the key, as None)."""
    output.pop("execution_count", None)
    if output.get("output_type") == "execute_result":
        output["execution_count"] = None
    return output
