"""Executing chapters with papermill, and staging the site's sources.

A chapter runs from its clean source with the parameters given (checked against its
``parameters`` cell first); the executed copy gets a provenance header (profile, device,
wall time, commit). The executed copies keep the sources' paths inside the staging folder,
so the Colab button of a rendered page opens the clean source notebook of the repository.
Needs the ``book`` extra (papermill).

Where an execution goes (:func:`destination`): at the chapter's defaults, into the site
(``_build/src/chapters/``) and the ledger (``_build/claims/``); with any other parameter
value, into a folder of its own, ``_build/variants/<parameters>/`` (the executed copy, and
its claims under ``claims/``), so a smoke or paper-profile run never slips into the default
site. An explicit output folder is honoured; an explicit ``FILE.ipynb`` is the executed
copy itself, its claims in ``FILE.claims/`` beside it. A page that is in the site with
non-default parameters anyway (its output folder was the staging folder) is marked: a
warning under its title, and its chapter in the ledger.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

from lt_lab.book import paths
from lt_lab.book.claims import CLAIMS_ENV, PARAMETERS_ENV
from lt_lab.book.ledger import fill_ledger
from lt_lab.book.paths import ROOT, chapter_notebooks, toc_chapters
from lt_lab.errors import ConfigError

HEADER_TAG = "provenance"  # the tag of the header cell added to an executed chapter
METADATA_KEY = "lt_lab"  # the executed notebook's metadata: {"parameters", "non_default"}
AUTO = "auto"  # claims_dir of execute(): where destination() says


def notebook_parameters(notebook: Path) -> dict:
    """The defaults of the notebook's ``parameters`` cell: ``{name: default}``."""
    import papermill

    if not Path(notebook).exists():
        raise ConfigError(f"notebook={str(notebook)!r} does not exist")
    if Path(notebook).is_dir() or Path(notebook).suffix != ".ipynb":
        raise ConfigError(f"notebook={str(notebook)!r} is not a Jupyter notebook (.ipynb); the "
                          f"chapters: {', '.join(p.name for p in chapter_notebooks())}")
    try:
        inferred = papermill.inspect_notebook(str(notebook))
    except Exception as error:  # noqa: BLE001 (nbformat's errors: not JSON, not a notebook)
        raise ConfigError(f"notebook={str(notebook)!r} cannot be read as a notebook "
                          f"({type(error).__name__}: {' '.join(str(error).split())[:200]})") \
            from None
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


def non_default(notebook: Path, parameters: dict) -> dict:
    """The parameters whose value differs from the notebook's default: ``{name: value}``."""
    defaults = notebook_parameters(notebook)
    return {name: value for name, value in parameters.items() if defaults.get(name) != value}


def variant_name(changed: dict) -> str:
    """A folder name for an execution with the parameters ``changed``, readable and stable:
    ``{"profile": "smoke", "seeds": [0, 1]}`` → ``profile-smoke_seeds-0-1``."""
    text = "_".join(f"{name}-{json.dumps(value, sort_keys=True)}"
                    for name, value in sorted(changed.items()))
    name = re.sub(r"[^A-Za-z0-9_.]+", "-", text.replace('"', "")).strip("-")
    name = re.sub(r"-?_-?", "_", name)
    if len(name) > 80:  # long lists: readable start, and a hash so that two never collide
        name = f"{name[:70]}-{hashlib.sha1(text.encode()).hexdigest()[:8]}"
    return name


def destination(notebook: str | Path, parameters: dict | None = None,
                output_dir: str | Path | None = None) -> tuple[Path, Path]:
    """Where an execution of ``notebook`` goes: (folder of its executed copy, folder its
    claims are published to).

    At the defaults: the site (``_build/src/chapters``) and the ledger (``_build/claims``).
    With non-default parameters: ``_build/variants/<name>/`` and its ``claims/`` — never the
    site. An explicit ``output_dir`` is honoured, its claims in ``output_dir/claims``; if it
    is the site's staging folder itself, the claims go to the ledger's (the page and its
    ledger rows are then marked as made with non-default parameters). An ``output_dir``
    that names a notebook (``out/ch2.ipynb``, not an existing folder) is the executed copy
    itself, its claims beside it in ``out/ch2.claims/``.
    """
    staging = paths.STAGE / "chapters"
    if output_dir is None:
        changed = non_default(Path(notebook).resolve(), dict(parameters or {}))
        if not changed:
            return staging, paths.CLAIMS
        variant = paths.VARIANTS / variant_name(changed)
        return variant, variant / "claims"
    output_dir = Path(output_dir)
    if names_notebook(output_dir):
        return output_dir, output_dir.with_name(f"{output_dir.stem}.claims")
    if output_dir.resolve() == staging.resolve():
        return output_dir, paths.CLAIMS
    return output_dir, output_dir / "claims"


def names_notebook(output: str | Path) -> bool:
    """Does ``--output`` name the executed notebook itself (``FILE.ipynb``) rather than a
    folder? An empty folder of that name counts as the file: it is what the command's check
    that the place can be written leaves there."""
    output = Path(output)
    return output.suffix == ".ipynb" and not (output.is_dir() and any(output.iterdir()))


def execute(
    notebook: str | Path,
    parameters: dict | None = None,
    *,
    output_dir: str | Path | None = None,
    claims_dir: str | Path | None = AUTO,
    timeout_s: int | None = None,
) -> Path:
    """Run ``notebook`` with papermill; write the executed copy (with a provenance header).

    ``output_dir`` and ``claims_dir`` default to :func:`destination`'s folders (the site at
    the defaults, a folder of its own otherwise); ``claims_dir=None`` publishes nothing.
    """
    notebook = Path(notebook).resolve()
    if not notebook.exists():
        raise ConfigError(f"notebook={str(notebook)!r} does not exist")
    parameters = dict(parameters or {})
    check_notebook_parameters(notebook, parameters)
    output_dir, default_claims = destination(notebook, parameters, output_dir)
    claims_dir = default_claims if claims_dir == AUTO else claims_dir
    output = Path(output_dir) if names_notebook(output_dir) else Path(output_dir) / notebook.name
    if output.is_dir():  # the empty folder the writability check made in the file's place
        output.rmdir()
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.stem}.partial.ipynb")
    changed = non_default(notebook, parameters)
    wall_time_s = _papermill(notebook, partial, parameters, claims_dir, timeout_s, changed)
    _add_header(partial, {**notebook_parameters(notebook), **parameters}, wall_time_s, changed)
    os.replace(partial, output)
    return output


def execute_all(parameters: dict | None = None, output_dir: str | Path | None = None
                ) -> list[Path]:
    """Execute every chapter with the same ``parameters`` (e.g. ``{"profile": "quick"}``)."""
    if output_dir is not None and names_notebook(output_dir):
        raise ConfigError(f"output {str(output_dir)!r} names one notebook; every chapter needs "
                          "a folder")
    return [execute(notebook, parameters, output_dir=output_dir)
            for notebook in chapter_notebooks()]


def _papermill(notebook: Path, output: Path, parameters: dict, claims_dir, timeout_s,
               changed: dict) -> float:
    """Execute ``notebook`` into ``output`` in the notebook's folder; the wall time in s.
    The kernel learns where to publish its claims and which parameters are not the defaults
    (published with them, so the ledger can mark them)."""
    import papermill

    published = {CLAIMS_ENV: str(claims_dir)} if claims_dir else {}
    published[PARAMETERS_ENV] = json.dumps(changed, sort_keys=True)
    started = time.perf_counter()
    with environment(published):
        papermill.execute_notebook(
            str(notebook), str(output), parameters=parameters, kernel_name="python3",
            cwd=str(notebook.parent), progress_bar=False, execution_timeout=timeout_s,
        )
    return time.perf_counter() - started


def provenance_header(values: dict, wall_time_s: float) -> str:
    """The header of a rendered chapter: parameters, device, wall time, commit: a note,
    folded (one line under the title until a reader opens it)."""
    import lt_lab
    from lt_lab.provenance import describe_device, git_commit
    from lt_lab.runtime import resolve_device

    device = describe_device(resolve_device(values.get("device", "auto")))
    shown = ", ".join(f"`{k}={json.dumps(v)}`" for k, v in values.items() if k != "device")
    return (
        "```{admonition} How this page was made\n:class: note dropdown\n"
        f"Executed by papermill in {wall_time_s:.0f} s on {device}, with lt_lab "
        f"{lt_lab.__version__} at commit `{git_commit()}`. Parameters: {shown}. "
        "Numbers come from the run records in `data/results/` (trained when missing); each "
        "record names the device and seed that made it.\n```"
    )


def non_default_warning(changed: dict) -> str:
    """The warning under the title of a page executed with non-default parameters."""
    shown = ", ".join(f"`{k}={json.dumps(v)}`" for k, v in changed.items())
    return (
        "```{admonition} Not the book's defaults\n:class: warning\n"
        f"This page was executed with {shown}, not the chapter's defaults: its numbers and "
        "verdicts are not the book's, and its claims are marked so in the claims ledger.\n```"
    )


def _add_header(path: Path, values: dict, wall_time_s: float, changed: dict) -> None:
    """Insert the provenance header (and, with non-default parameters, a warning) after the
    title cell of the executed notebook; record the parameters in its metadata."""
    import nbformat

    executed = nbformat.read(path, as_version=4)
    cells = [provenance_header(values, wall_time_s)]
    cells += [non_default_warning(changed)] if changed else []
    title = next(i for i, c in enumerate(executed.cells) if c.cell_type == "markdown")
    for offset, text in enumerate(cells, 1):
        cell = nbformat.v4.new_markdown_cell(text)
        cell.metadata["tags"] = [HEADER_TAG]
        executed.cells.insert(title + offset, cell)
    executed.metadata[METADATA_KEY] = {"parameters": values, "non_default": changed}
    nbformat.write(executed, path)


def marked_pages(chapters_dir: Path) -> dict[str, dict]:
    """The executed chapters in ``chapters_dir`` made with non-default parameters:
    ``{notebook name: the parameters that differ}``."""
    import nbformat

    marked = {}
    for path in chapter_notebooks(chapters_dir):
        meta = nbformat.read(path, as_version=4).metadata.get(METADATA_KEY, {})
        if meta.get("non_default"):
            marked[path.name] = meta["non_default"]
    return marked


def stage(claims_dir: Path | None = None, stage_dir: Path | None = None,
          student: bool = False) -> Path:
    """Assemble the site sources in ``stage_dir`` (``_build/src``): config, prose pages,
    executed chapters (which must be in ``_build/src/chapters`` already), and the claims
    ledger filled in from ``claims_dir`` (``_build/claims``).

    ``student``: the student edition (:func:`lt_lab.book.edition.student_config`: no
    solutions), staged into a folder of its own.
    """
    from lt_lab.book.edition import write_config

    claims_dir = paths.CLAIMS if claims_dir is None else Path(claims_dir)
    stage_dir = paths.STAGE if stage_dir is None else Path(stage_dir)
    executed = paths.STAGE / "chapters"
    missing = [nb.name for nb in toc_chapters() if not (executed / nb.name).exists()]
    if missing:
        raise ConfigError(f"chapters not executed yet: {missing}; run `lt-lab book execute`")
    stage_dir.mkdir(parents=True, exist_ok=True)
    write_config(ROOT / "_config.yml", stage_dir / "_config.yml", student=student)
    shutil.copy2(ROOT / "_toc.yml", stage_dir / "_toc.yml")
    shutil.copytree(ROOT / "book", stage_dir / "book", dirs_exist_ok=True)
    if stage_dir.resolve() != paths.STAGE.resolve():
        shutil.copytree(executed, stage_dir / "chapters", dirs_exist_ok=True)
    fill_ledger(stage_dir / "book" / "ledger.md", claims_dir)
    from lt_lab.book.confirmatory.display import fill_headline, fill_page

    fill_page(stage_dir / "book" / "preregistration.md")
    for page in ("ledger.md", "intro.md"):  # the pre-registered headline, as stored now
        fill_headline(stage_dir / "book" / page)
    return stage_dir
