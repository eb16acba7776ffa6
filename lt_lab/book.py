"""The book pipeline: papermill executes the chapters, Jupyter Book renders them.

    chapters/*.ipynb (clean sources) ──papermill──► _build/src/chapters/*.ipynb (executed)
    _config.yml, _toc.yml, book/ ──copied──────────► _build/src/
    claims published by each chapter ──────────────► _build/src/book/ledger.md
    _build/src ──jupyter-book build──► _build/html

The executed copies keep the sources' paths (``chapters/<name>.ipynb``) inside the staging
folder, so the Colab button of a rendered page opens the clean source notebook of the
repository. Needs the ``book`` extra (papermill, jupyter-book); never imported by the core.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import lt_lab
from lt_lab.claims import CLAIMS_ENV, Claim, load_published
from lt_lab.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
BUILD = ROOT / "_build"
STAGE = BUILD / "src"
CLAIMS = BUILD / "claims"
class BookBuildError(RuntimeError):
    """The site did not build."""


LEDGER_MARKER = "<!-- claims-ledger -->"
SUMMARY_MARKER = "<!-- claims-summary -->"
HEADER_TAG = "provenance"


def chapter_notebooks() -> list[Path]:
    """The chapters' source notebooks, in order."""
    return sorted(CHAPTERS.glob("[0-9][0-9]_*.ipynb"))


def toc_chapters() -> list[Path]:
    """The chapter notebooks the table of contents (``_toc.yml``) lists, in its order."""
    import yaml

    def files(node):
        if isinstance(node, dict):
            if str(node.get("file", "")).startswith("chapters/"):
                yield ROOT / f"{node['file']}.ipynb"
            for value in node.values():
                yield from files(value)
        elif isinstance(node, list):
            for item in node:
                yield from files(item)

    return list(files(yaml.safe_load((ROOT / "_toc.yml").read_text())))


def notebook_parameters(notebook: Path) -> dict:
    """The defaults of the notebook's ``parameters`` cell: ``{name: default}``."""
    import papermill

    inferred = papermill.inspect_notebook(str(notebook))
    return {name: ast.literal_eval(spec["default"]) for name, spec in inferred.items()}


def check_parameters(notebook: Path, parameters: dict) -> None:
    known = notebook_parameters(notebook)
    unknown = sorted(set(parameters) - set(known))
    if unknown:
        raise ConfigError(
            f"{notebook.name} has no parameter(s) {unknown}; its parameters: {', '.join(known)}"
        )


def execute(
    notebook: str | Path,
    parameters: dict | None = None,
    *,
    output_dir: str | Path = STAGE / "chapters",
    claims_dir: str | Path | None = CLAIMS,
    timeout_s: int | None = None,
) -> Path:
    """Run ``notebook`` with papermill; write the executed copy (with a provenance header)."""
    import nbformat
    import papermill

    notebook = Path(notebook).resolve()
    if not notebook.exists():
        raise ConfigError(f"notebook={str(notebook)!r} does not exist")
    parameters = dict(parameters or {})
    check_parameters(notebook, parameters)
    output = Path(output_dir) / notebook.name
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.stem}.partial.ipynb")
    environment = {CLAIMS_ENV: str(claims_dir)} if claims_dir else {}
    started = time.perf_counter()
    with _environment(environment):
        papermill.execute_notebook(
            str(notebook), str(partial), parameters=parameters, kernel_name="python3",
            cwd=str(notebook.parent), progress_bar=False, execution_timeout=timeout_s,
        )
    wall_time_s = time.perf_counter() - started
    executed = nbformat.read(partial, as_version=4)
    values = {**notebook_parameters(notebook), **parameters}
    _insert_header(executed, values, wall_time_s)
    nbformat.write(executed, partial)
    os.replace(partial, output)
    return output


class _environment:
    """Set environment variables for the kernel papermill starts, then restore them."""

    def __init__(self, values: dict):
        self.values, self.saved = values, {}

    def __enter__(self):
        for name, value in self.values.items():
            self.saved[name] = os.environ.get(name)
            os.environ[name] = value

    def __exit__(self, *exc):
        for name, value in self.saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def provenance(values: dict, wall_time_s: float) -> str:
    """The header of a rendered chapter: profile, device, seeds, wall time, commit."""
    from lt_lab.train import describe_device, git_commit, resolve_device

    device = describe_device(resolve_device(values.get("device", "auto")))
    shown = ", ".join(f"`{k}={json.dumps(v)}`" for k, v in values.items() if k != "device")
    return (
        "```{admonition} How this page was made\n:class: note\n"
        f"Executed by papermill in {wall_time_s:.0f} s on {device}, with lt_lab "
        f"{lt_lab.__version__} at commit `{git_commit()}`. Parameters: {shown}. "
        "Numbers come from the run records in `data/results/` (trained when missing); each "
        "record names the device and seed that made it.\n```"
    )


def _insert_header(executed, values: dict, wall_time_s: float) -> None:
    import nbformat

    cell = nbformat.v4.new_markdown_cell(provenance(values, wall_time_s))
    cell.metadata["tags"] = [HEADER_TAG]
    title = next(i for i, c in enumerate(executed.cells) if c.cell_type == "markdown")
    executed.cells.insert(title + 1, cell)


def stage(executed: list[Path] | None = None) -> Path:
    """Assemble the site sources in ``_build/src``: config, prose pages, executed chapters."""
    STAGE.mkdir(parents=True, exist_ok=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(ROOT / name, STAGE / name)
    shutil.copytree(ROOT / "book", STAGE / "book", dirs_exist_ok=True)
    missing = [nb.name for nb in toc_chapters() if not (STAGE / "chapters" / nb.name).exists()]
    if missing:
        raise ConfigError(f"chapters not executed yet: {missing}; run `lt-lab book execute`")
    ledger = STAGE / "book" / "ledger.md"
    text = ledger.read_text().replace(SUMMARY_MARKER, render_summary(CLAIMS))
    ledger.write_text(text.replace(LEDGER_MARKER, render_ledger(CLAIMS)))
    return STAGE


def render_summary(claims_dir: Path) -> str:
    """One row per chapter: how many of its claims got each verdict; then the totals."""
    from lt_lab.claims import VERDICTS

    chapters = load_published(claims_dir) if claims_dir.exists() else []
    if not chapters:
        return ""
    rows = ["| chapter | claims | " + " | ".join(VERDICTS) + " |",
            "|---|" + "---:|" * (len(VERDICTS) + 1)]
    totals = dict.fromkeys(VERDICTS, 0)
    for chapter in chapters:
        verdicts = [fields["verdict"] for fields in chapter["claims"]]
        counts = [verdicts.count(verdict) for verdict in VERDICTS]
        for verdict, count in zip(VERDICTS, counts, strict=True):
            totals[verdict] += count
        rows.append(f"| [{chapter['title']}](../chapters/{chapter['chapter']}.ipynb) | "
                    f"{len(verdicts)} | " + " | ".join(map(str, counts)) + " |")
    rows.append(f"| **all chapters** | **{sum(totals.values())}** | "
                + " | ".join(f"**{n}**" for n in totals.values()) + " |")
    return "\n".join(rows) + "\n"


def render_ledger(claims_dir: Path) -> str:
    """Markdown tables of every chapter's claims, linking each chapter."""
    chapters = load_published(claims_dir) if claims_dir.exists() else []
    if not chapters:
        return "*No chapter has published claims yet.*"
    blocks = []
    for chapter in chapters:
        blocks.append(f"## [{chapter['title']}](../chapters/{chapter['chapter']}.ipynb)\n")
        blocks.append("| claim | paper | statement | paper reported | measured here | verdict |")
        blocks.append("|---|---|---|---|---|---|")
        for c in (Claim(**fields) for fields in chapter["claims"]):
            measured = "—" if c.measured is None else (
                f"{c.value_text()} {c.unit}".rstrip() + f" (n={c.n}; needs {c.target})")
            blocks.append(f"| {c.id} | {{cite}}`{c.paper}` | {c.statement} | "
                          f"{c.reported} | {measured} | **{c.verdict}** |")
        blocks.append("")
    return "\n".join(blocks)


def build_site(strict: bool = True) -> Path:
    """Stage the sources, then ``jupyter-book build`` them into ``_build/html``."""
    stage()
    command = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(STAGE),
               "--path-output", str(BUILD.parent), "--builder", "html"]
    if strict:
        command += ["-W", "-n", "--keep-going"]
    if subprocess.run(command).returncode != 0:
        raise BookBuildError("jupyter-book build failed (warnings are errors); see its log above")
    return BUILD / "html"


def execute_all(parameters: dict | None = None) -> list[Path]:
    """Execute every chapter with the same ``parameters`` (e.g. ``{"profile": "quick"}``)."""
    return [execute(nb, parameters) for nb in chapter_notebooks()]


def _count_records(results_dir: Path) -> int:
    return sum(1 for _ in results_dir.rglob("*.json")) if results_dir.exists() else 0


def time_book(
    results_dir: str | Path | None = None,
    parameters: dict | None = None,
    *,
    notebooks: list[Path] | None = None,
    build: bool = True,
    output: str | Path | None = None,
    output_dir: str | Path = STAGE / "chapters",
    claims_dir: str | Path | None = CLAIMS,
    log=print,
) -> dict:
    """Time ``make book``: every chapter executed against ``results_dir``, then the build.

    From an empty ``results_dir`` every run is trained (the empty-store figure); from the
    repository's store nothing is (the full-store figure). Writes a JSON record (per-chapter
    wall time, records trained, load average, device, versions) to ``output``, by default
    ``data/bench/book-<device>-<time>.json``, and returns it.
    """
    from lt_lab.bench import device_kind
    from lt_lab.results import RESULTS_ENV, default_results_dir, write_json_atomic
    from lt_lab.train import describe_device, git_commit, resolve_device, software_versions

    results_dir = Path(results_dir) if results_dir else default_results_dir()
    notebooks = list(notebooks or chapter_notebooks())
    parameters = dict(parameters or {})
    chapters = []
    started = time.perf_counter()
    with _environment({RESULTS_ENV: str(results_dir.resolve())}):
        for notebook in notebooks:
            before, load_before = _count_records(results_dir), os.getloadavg()
            begun = time.perf_counter()
            log(f"executing {notebook.name} against {results_dir} ({before} records)")
            execute(notebook, parameters, output_dir=output_dir, claims_dir=claims_dir)
            chapters.append({
                "notebook": notebook.name,
                "wall_time_s": round(time.perf_counter() - begun, 1),
                "records_before": before, "records_trained": _count_records(results_dir) - before,
                "load_average_1min": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
            })
            log(f"  {chapters[-1]['wall_time_s']:.0f} s, "
                f"{chapters[-1]['records_trained']} records trained")
    build_s = None
    if build:
        begun = time.perf_counter()
        build_site()
        build_s = round(time.perf_counter() - begun, 1)
    device = resolve_device(parameters.get("device", "auto"))
    finished = datetime.now(timezone.utc)
    record = {
        "kind": "lt_lab.book_time",
        "results_dir": str(results_dir),
        "store_empty_at_start": chapters[0]["records_before"] == 0 if chapters else None,
        "parameters": parameters,
        "chapters": chapters,
        "build_wall_time_s": build_s,
        "total_wall_time_s": round(time.perf_counter() - started, 1),
        "device": describe_device(device),
        "cpu_count": os.cpu_count(),
        "versions": software_versions(),
        "git_commit": git_commit(),
        "created": finished.isoformat(timespec="seconds"),
    }
    stamp = finished.strftime("%Y%m%dT%H%M%SZ")
    default = ROOT / "data" / "bench" / f"book-{device_kind(device)}-{stamp}.json"
    path = Path(output) if output else default
    write_json_atomic(path, record)
    record["path"] = str(path)
    return record


def format_book_time(record: dict) -> str:
    """The per-chapter table of a :func:`time_book` record, in seconds and minutes."""
    start = "an empty store" if record["store_empty_at_start"] else "a store of stored records"
    lines = [f"make book from {start} ({record['results_dir']}) on {record['device']}",
             f"{'chapter':<34} {'wall time':>10} {'records trained':>16}"]
    for chapter in record["chapters"]:
        lines.append(f"{chapter['notebook']:<34} {chapter['wall_time_s']:>8.0f} s "
                     f"{chapter['records_trained']:>16}")
    if record["build_wall_time_s"] is not None:
        lines.append(f"{'jupyter-book build':<34} {record['build_wall_time_s']:>8.0f} s")
    total = record["total_wall_time_s"]
    lines.append(f"{'total':<34} {total:>8.0f} s  ({total / 60:.1f} min)")
    return "\n".join(lines)


CHECK_MARK = "# NBVAL_CHECK_OUTPUT"


def freeze(notebook: str | Path) -> list[str]:
    """Store the outputs of the ``# NBVAL_CHECK_OUTPUT`` cells in the source notebook.

    Executes the notebook at its defaults (from the stored records), then copies those
    cells' outputs — the claim verdicts — into the clean source, which nbval then compares
    against in every test run. Every other cell stays without outputs. Returns the ids of
    the frozen cells.
    """
    import nbformat
    import papermill

    notebook = Path(notebook).resolve()
    scratch = BUILD / "freeze" / notebook.name
    scratch.parent.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(str(notebook), str(scratch), kernel_name="python3",
                               cwd=str(notebook.parent), progress_bar=False)
    executed = {c.id: c for c in nbformat.read(scratch, as_version=4).cells}
    source = nbformat.read(notebook, as_version=4)
    frozen = []
    for cell in source.cells:
        if cell.cell_type != "code":
            continue
        if CHECK_MARK in cell.source:  # nbval skips a cell with outputs but no count
            cell.outputs = [_strip_metadata(o) for o in executed[cell.id].outputs]
            cell.execution_count = executed[cell.id].execution_count
            frozen.append(cell.id)
        else:
            cell.outputs = []
            cell.execution_count = None
    partial = notebook.with_name(f".{notebook.stem}.partial.ipynb")
    nbformat.write(source, partial)
    os.replace(partial, notebook)
    return frozen


def _strip_metadata(output):
    output.pop("execution_count", None)
    if output.get("output_type") == "execute_result":
        output["execution_count"] = None
    return output


# What a reader must see on each page: (least figures, least tables, phrases).
PROSE_PAGES = {
    "book/intro.html": (0, 1, ("lt-book",)),
    "book/ledger.html": (0, 1, ("Claims ledger", "reproduced")),
}
CHAPTER_PAGE = (3, 3, ("Verdicts", "How this page was made", "What we learned"))


def site_pages() -> dict:
    """Every page the site check opens: the prose pages and each chapter of the toc."""
    chapters = {f"chapters/{nb.stem}.html": CHAPTER_PAGE for nb in toc_chapters()}
    return {**PROSE_PAGES, **chapters}


def check_site(html_dir: Path = BUILD / "html", screenshots: Path = BUILD / "screenshots",
               browser: str = "chromium") -> list[str]:
    """Load pages of the built site in headless Chromium; return what is missing (empty: ok).

    Chromium renders each page (scripts run for a few virtual seconds), we count the
    figures and tables in the resulting DOM, look for the key phrases, check that MathJax
    typeset the formulas (offline: it is served from the site itself), and save a
    screenshot of each page to ``screenshots``.
    """
    executable = shutil.which(browser)
    if executable is None:
        return [f"{browser} not found: install Debian's chromium (apt-get install chromium)"]
    screenshots.mkdir(parents=True, exist_ok=True)
    problems = []
    for page, (min_figures, min_tables, phrases) in site_pages().items():
        path = html_dir / page
        if not path.exists():
            problems.append(f"{page}: not built")
            continue
        url = path.resolve().as_uri()
        dom = _chromium(executable, ["--dump-dom", url])
        _chromium(executable, [f"--screenshot={screenshots / (path.stem + '.png')}",
                               "--window-size=1280,2400", url])
        figures = dom.count("<img")
        tables = dom.count("<table")
        if figures < min_figures:
            problems.append(f"{page}: {figures} figures, expected at least {min_figures}")
        if tables < min_tables:
            problems.append(f"{page}: {tables} tables, expected at least {min_tables}")
        problems += [f"{page}: no {p!r}" for p in phrases if p not in dom]
        if 'class="math' in dom and "<mjx-container" not in dom:
            problems.append(f"{page}: formulas not rendered (MathJax did not load from "
                            "book/_static/mathjax)")
    return problems


def _chromium(executable: str, arguments: list[str]) -> str:
    import tempfile

    with tempfile.TemporaryDirectory() as profile:
        command = [executable, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                   "--no-first-run", "--disable-background-networking",
                   "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
                   "--virtual-time-budget=5000", *arguments]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    return done.stdout
