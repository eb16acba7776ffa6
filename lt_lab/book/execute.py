"""Executing chapters with papermill, and staging the site's sources.

A chapter runs from its clean source with the parameters given (checked against its
``parameters`` cell first); the executed copy gets a provenance header (profile, device,
wall time, commit) and lands in ``_build/src/chapters/``. The executed copies keep the
sources' paths inside the staging folder, so the Colab button of a rendered page opens the
clean source notebook of the repository. Needs the ``book`` extra (papermill).
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

from lt_lab.book.claims import CLAIMS_ENV
from lt_lab.book.ledger import fill_ledger
from lt_lab.book.paths import CLAIMS, ROOT, STAGE, chapter_notebooks, toc_chapters
from lt_lab.errors import ConfigError

HEADER_TAG = "provenance"  # the tag of the header cell added to an executed chapter


def notebook_parameters(notebook: Path) -> dict:
    """The defaults of the notebook's ``parameters`` cell: ``{name: default}``."""
    import papermill

    inferred = papermill.inspect_notebook(str(notebook))
    return {name: ast.literal_eval(spec["default"]) for name, spec in inferred.items()}


def check_notebook_parameters(notebook: Path, parameters: dict) -> None:
    """Refuse parameters the notebook's ``parameters`` cell does not define, and values of
    another type than their default's (a quoted ``"100"`` for a number, ``1`` for a list)."""
    known = notebook_parameters(notebook)
    unknown = sorted(set(parameters) - set(known))
    if unknown:
        raise ConfigError(
            f"{notebook.name} has no parameter(s) {unknown}; its parameters: {', '.join(known)}"
        )
    for name, value in parameters.items():
        expected = _parameter_type(known[name])
        if expected and _parameter_type(value) != expected and not (
                expected.startswith("a list") and value == []):
            quoted = " (written without quotes)" if isinstance(value, str) else ""
            raise ConfigError(f"{notebook.name}: parameter {name}={value!r} must be "
                              f"{expected}{quoted}, like its default {known[name]!r}")


def _parameter_type(value) -> str | None:
    """What kind of value a notebook parameter is, in words (None: no rule)."""
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        plurals = {"true or false": "flags", "a number": "numbers", "a string": "strings"}
        kinds = {plurals.get(_parameter_type(item), "values") for item in value}
        return f"a list of {kinds.pop()}" if len(kinds) == 1 else "a list"
    return None


@contextmanager
def environment(values: dict):
    """Set environment variables (the kernels papermill starts inherit them), then restore."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def execute(
    notebook: str | Path,
    parameters: dict | None = None,
    *,
    output_dir: str | Path = STAGE / "chapters",
    claims_dir: str | Path | None = CLAIMS,
    timeout_s: int | None = None,
) -> Path:
    """Run ``notebook`` with papermill; write the executed copy (with a provenance header)."""
    notebook = Path(notebook).resolve()
    if not notebook.exists():
        raise ConfigError(f"notebook={str(notebook)!r} does not exist")
    parameters = dict(parameters or {})
    check_notebook_parameters(notebook, parameters)
    output = Path(output_dir) / notebook.name
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.stem}.partial.ipynb")
    wall_time_s = _papermill(notebook, partial, parameters, claims_dir, timeout_s)
    _add_header(partial, {**notebook_parameters(notebook), **parameters}, wall_time_s)
    os.replace(partial, output)
    return output


def execute_all(parameters: dict | None = None) -> list[Path]:
    """Execute every chapter with the same ``parameters`` (e.g. ``{"profile": "quick"}``)."""
    return [execute(notebook, parameters) for notebook in chapter_notebooks()]


def _papermill(notebook: Path, output: Path, parameters: dict, claims_dir, timeout_s) -> float:
    """Execute ``notebook`` into ``output`` in the notebook's folder; the wall time in s."""
    import papermill

    published = {CLAIMS_ENV: str(claims_dir)} if claims_dir else {}
    started = time.perf_counter()
    with environment(published):
        papermill.execute_notebook(
            str(notebook), str(output), parameters=parameters, kernel_name="python3",
            cwd=str(notebook.parent), progress_bar=False, execution_timeout=timeout_s,
        )
    return time.perf_counter() - started


def provenance_header(values: dict, wall_time_s: float) -> str:
    """The header of a rendered chapter: parameters, device, wall time, commit."""
    import lt_lab
    from lt_lab.provenance import describe_device, git_commit
    from lt_lab.runtime import resolve_device

    device = describe_device(resolve_device(values.get("device", "auto")))
    shown = ", ".join(f"`{k}={json.dumps(v)}`" for k, v in values.items() if k != "device")
    return (
        "```{admonition} How this page was made\n:class: note\n"
        f"Executed by papermill in {wall_time_s:.0f} s on {device}, with lt_lab "
        f"{lt_lab.__version__} at commit `{git_commit()}`. Parameters: {shown}. "
        "Numbers come from the run records in `data/results/` (trained when missing); each "
        "record names the device and seed that made it.\n```"
    )


def _add_header(path: Path, values: dict, wall_time_s: float) -> None:
    """Insert the provenance header after the title cell of the executed notebook."""
    import nbformat

    executed = nbformat.read(path, as_version=4)
    cell = nbformat.v4.new_markdown_cell(provenance_header(values, wall_time_s))
    cell.metadata["tags"] = [HEADER_TAG]
    title = next(i for i, c in enumerate(executed.cells) if c.cell_type == "markdown")
    executed.cells.insert(title + 1, cell)
    nbformat.write(executed, path)


def stage(claims_dir: Path = CLAIMS) -> Path:
    """Assemble the site sources in ``_build/src``: config, prose pages, executed chapters
    (which must be there already), and the claims ledger filled in."""
    STAGE.mkdir(parents=True, exist_ok=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(ROOT / name, STAGE / name)
    shutil.copytree(ROOT / "book", STAGE / "book", dirs_exist_ok=True)
    missing = [nb.name for nb in toc_chapters() if not (STAGE / "chapters" / nb.name).exists()]
    if missing:
        raise ConfigError(f"chapters not executed yet: {missing}; run `lt-lab book execute`")
    fill_ledger(STAGE / "book" / "ledger.md", claims_dir)
    return STAGE
