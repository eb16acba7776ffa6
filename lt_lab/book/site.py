"""The site: ``jupyter-book build`` of the staged sources, and a check in headless Chromium.

The check opens every page of the built site as a reader's browser renders it (scripts
run for a few virtual seconds), counts figures and tables in the resulting DOM, counts the
forest plots of the claims (figures of class ``forest-plot`` holding an image), looks for
the phrases each page must show, checks that MathJax typeset the formulas (offline: it is
served from the site itself) and saves a screenshot of each page.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from lt_lab.book.execute import stage
from lt_lab.book.paths import BUILD, STAGE, toc_chapters


class BookBuildError(RuntimeError):
    """The site did not build."""


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


# What a reader must see on each page: (least figures, least tables, phrases, least forest
# plots of the claims).
PROSE_PAGES = {
    "book/intro.html": (0, 1, ("lt-book",), 0),
    "book/ledger.html": (1, 1, ("Claims ledger", "The verdict rule", "reproduced",
                                "declared with results"), 1),
}
CHAPTER_PAGE = (3, 3, ("Verdicts", "How this page was made", "What we learned"), 1)
FOREST_FIGURE = re.compile(r'<figure[^>]*class="[^"]*\bforest-plot\b[^"]*"[^>]*>(.*?)</figure>',
                           re.DOTALL)


def site_pages() -> dict:
    """Every page the site check opens: the prose pages and each chapter of the toc."""
    chapters = {f"chapters/{nb.stem}.html": CHAPTER_PAGE for nb in toc_chapters()}
    return {**PROSE_PAGES, **chapters}


def check_site(html_dir: Path = BUILD / "html", screenshots: Path = BUILD / "screenshots",
               browser: str = "chromium") -> list[str]:
    """Load every page of the built site in headless Chromium; what is missing (empty: ok)."""
    executable = shutil.which(browser)
    if executable is None:
        return [f"{browser} not found: install Debian's chromium (apt-get install chromium)"]
    screenshots.mkdir(parents=True, exist_ok=True)
    problems = []
    for page, expected in site_pages().items():
        path = html_dir / page
        if not path.exists():
            problems.append(f"{page}: not built")
            continue
        url = path.resolve().as_uri()
        dom = _chromium(executable, ["--dump-dom", url])
        _chromium(executable, [f"--screenshot={screenshots / (path.stem + '.png')}",
                               "--window-size=1280,2400", url])
        problems += check_page(page, dom, *expected)
    return problems


def forest_plots(dom: str) -> int:
    """How many forest plots ``dom`` shows: figures of class ``forest-plot`` with an image."""
    return sum("<img" in body for body in FOREST_FIGURE.findall(dom))


def check_page(page: str, dom: str, min_figures: int, min_tables: int, phrases,
               min_forest: int = 0) -> list[str]:
    """What the rendered ``dom`` of ``page`` lacks: figures, tables, forest plots, phrases,
    typeset maths."""
    problems = []
    figures, tables, forests = dom.count("<img"), dom.count("<table"), forest_plots(dom)
    if figures < min_figures:
        problems.append(f"{page}: {figures} figures, expected at least {min_figures}")
    if tables < min_tables:
        problems.append(f"{page}: {tables} tables, expected at least {min_tables}")
    if forests < min_forest:
        problems.append(f"{page}: {forests} forest plots of the claims, expected at least "
                        f"{min_forest}")
    problems += [f"{page}: no {phrase!r}" for phrase in phrases if phrase not in dom]
    if 'class="math' in dom and "<mjx-container" not in dom:
        problems.append(f"{page}: formulas not rendered (MathJax did not load from "
                        "book/_static/mathjax)")
    return problems


def _chromium(executable: str, arguments: list[str]) -> str:
    """Run headless Chromium with a throw-away profile; its standard output."""
    with tempfile.TemporaryDirectory() as profile:
        command = [executable, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                   "--no-first-run", "--disable-background-networking",
                   "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
                   "--virtual-time-budget=5000", *arguments]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    return done.stdout
