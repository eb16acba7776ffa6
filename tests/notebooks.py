"""Tiny chapters for tests that execute notebooks (papermill needs a kernelspec)."""

from pathlib import Path

import nbformat


def executable_chapter(path: Path, title: str, parameters: str, code: str) -> Path:
    """Write a chapter papermill can run to ``path``: a markdown ``title``, a cell tagged
    ``parameters`` holding ``parameters``, then one cell of ``code``."""
    notebook = nbformat.v4.new_notebook(metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    parameters_cell = nbformat.v4.new_code_cell(parameters)
    parameters_cell.metadata["tags"] = ["parameters"]
    notebook.cells = [nbformat.v4.new_markdown_cell(title), parameters_cell,
                      nbformat.v4.new_code_cell(code)]
    nbformat.write(notebook, path)
    return path
