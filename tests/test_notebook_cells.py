"""Chapter code cells stay short: at most 15 lines each, so a reader sees one idea a cell and
the machinery lives in lt_lab. The ``parameters`` cell (papermill's) and the ``claims`` cell
(a chapter's declared claims) are exempt: they are lists, not logic; so is the Colab install
cell (``colab-install``): removed from the site, written by ``lt-lab book set-repo`` from a
template in lt_lab.book.colab, and run before lt_lab exists to hold it."""

from pathlib import Path

import nbformat
import pytest

from lt_lab.book.paths import chapter_notebooks

CHAPTERS = chapter_notebooks()
MAX_LINES = 15
EXEMPT_TAGS = {"parameters", "claims", "colab-install"}


def long_cells(path: Path) -> list[str]:
    """One message per code cell of ``path`` over :data:`MAX_LINES` lines (exempt tags aside)."""
    notebook = nbformat.read(path, as_version=4)
    found = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or EXEMPT_TAGS & set(cell.metadata.get("tags", [])):
            continue
        lines = len(cell.source.splitlines())
        if lines > MAX_LINES:
            found.append(f"{path.name}: cell {index} has {lines} lines (at most {MAX_LINES})")
    return found


def test_there_are_chapters():
    assert CHAPTERS


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_code_cells_have_at_most_15_lines(path):
    found = long_cells(path)
    assert not found, "\n".join(found)


def test_the_rule_counts_lines_and_spares_exempt_cells(tmp_path):
    notebook = nbformat.v4.new_notebook()
    long = "\n".join(f"x{i} = {i}" for i in range(MAX_LINES + 1))
    exempt = nbformat.v4.new_code_cell(long)
    exempt.metadata["tags"] = ["parameters"]
    notebook.cells = [nbformat.v4.new_markdown_cell("# T"), exempt,
                      nbformat.v4.new_code_cell("\n".join(long.splitlines()[:MAX_LINES])),
                      nbformat.v4.new_code_cell(long)]
    path = tmp_path / "00_t.ipynb"
    nbformat.write(notebook, path)
    assert long_cells(path) == [f"00_t.ipynb: cell 3 has {MAX_LINES + 1} lines (at most 15)"]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_frozen_cell_keeps_its_output_and_its_execution_count(path):
    """nbval compares a ``# NBVAL_CHECK_OUTPUT`` cell's fresh output with the stored one, and
    refuses a stored output without an execution count ("Unrun reference cell has outputs"):
    `lt-lab book freeze` stores both; a cell written by hand must too."""
    notebook = nbformat.read(path, as_version=4)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and "NBVAL_CHECK_OUTPUT" in cell.source:
            assert cell.outputs, f"{path.name}: cell {index} has no frozen output"
            assert cell.execution_count is not None, \
                f"{path.name}: cell {index} has outputs but no execution count"
