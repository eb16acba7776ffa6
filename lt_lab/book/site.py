"""The site: ``jupyter-book build`` of the staged sources, and a check in headless Chromium.

The check opens every page of the built site as a reader's browser renders it (scripts
run for a few virtual seconds), counts figures and tables in the resulting DOM, counts the
forest plots of the claims (figures of class ``forest-plot`` holding an image), looks for
the phrases each page must show, checks that MathJax typeset the formulas (offline: it is
served from the site itself) and saves a screenshot of each page at 1280 and 390 px wide.

It also reads each page as a reader would at both widths (:mod:`lt_lab.book.readability`): a
cut "…" in a claim table, a raw BibTeX key, a verdict column off screen, a figure without a
caption or alt text, a chapter longer than 15 screens. Each of these checks fails the site
check unless the page is listed among its known exceptions (:data:`KNOWN_EXCEPTIONS`), which
are reported without failing; ``strict`` fails on them too.

When the teaching decks are built (``_build/html/slides``, :mod:`lt_lab.book.slides`), the check
opens every slide of every deck too (:func:`check_decks`): a screenshot of each into
``_build/screenshots/slides/``, and a failure for an empty slide, text or a figure that runs
off the slide, an image that did not load, a formula left untypeset, or a deck of more than 15
slides.
"""

from __future__ import annotations

import fnmatch
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from lt_lab.book import paths
from lt_lab.book.execute import marked_pages, stage
from lt_lab.book.paths import BUILD, toc_chapters
from lt_lab.book.times import write_course_times


class BookBuildError(RuntimeError):
    """The site did not build."""


def build_site(strict: bool = True, student: bool = False) -> Path:
    """Stage the sources (with the course page's times from the timing records), then
    ``jupyter-book build`` them into ``_build/html`` (the student
    edition, without solutions: staged in ``_build/student/src``, built into
    ``_build/student/_build/html``); the folder of the HTML."""
    if student:
        source = stage(stage_dir=paths.BUILD / "student" / "src", student=True)
        output = paths.BUILD / "student"
    else:
        source, output = stage(), paths.BUILD.parent
    write_course_times(source / "book")  # the course page's times, from the timing records
    for name, changed in marked_pages(paths.STAGE / "chapters").items():
        print(f"warning: {name} was executed with non-default parameters {changed}; its page "
              "and its ledger rows are marked", file=sys.stderr)
    command = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(source),
               "--path-output", str(output), "--builder", "html"]
    if strict:
        command += ["-W", "-n", "--keep-going"]
    if subprocess.run(command).returncode != 0:
        raise BookBuildError("jupyter-book build failed (warnings are errors); see its log above")
    built = output / "_build" / "html"
    decks = paths.BUILD / "html" / "slides"
    if student and decks.is_dir():  # the course page links ../slides/: the same decks (they
        shutil.copytree(decks, built / "slides", dirs_exist_ok=True)  # show no solutions)
    return built


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


# Readability checks a page may be excused from while its chapter is being fixed: check name
# -> page patterns (fnmatch, e.g. "chapters/*"). A page listed here is still checked and
# its findings printed, but they fail the site check only with ``strict``. Remove an entry
# once its pages pass (see lt_lab.book.readability.CHECKS for the names).
KNOWN_EXCEPTIONS: dict[str, tuple[str, ...]] = {
    # none: secondary material is folded and chapter 4 is two pages (4, 4b)
    "page-length": (),
    # none: the ledger draws one forest plot per chapter, one column of 6.4 in (10.5 px text)
    "figure-text": (),
}
WIDTHS = (1280, 390)  # a laptop and a phone, in CSS px
SCREEN = (1280, 800)  # the screen a page's length is counted in


@dataclass
class SiteReport:
    """What the site check found: ``problems`` fail it; ``excused`` are findings on pages
    with a known exception (reported, not failing)."""

    problems: list[str] = field(default_factory=list)
    excused: list[str] = field(default_factory=list)

    def __iter__(self):  # ``problems = check_site()`` still reads as the list of problems
        return iter(self.problems)

    def __bool__(self):
        return bool(self.problems)


def excused(check: str, page: str, exceptions: dict | None = None) -> bool:
    """Is ``page`` a known exception of ``check``?"""
    patterns = (KNOWN_EXCEPTIONS if exceptions is None else exceptions).get(check, ())
    return any(fnmatch.fnmatch(page, pattern) for pattern in patterns)


def check_site(html_dir: Path = BUILD / "html", screenshots: Path = BUILD / "screenshots",
               browser: str = "chromium", strict: bool = False,
               exceptions: dict | None = None) -> SiteReport:
    """Load every page of the built site in headless Chromium at each of :data:`WIDTHS`;
    what is missing or hard to read. Screenshots: ``<page>-<width>.png``."""
    from lt_lab.book.bib import labels
    from lt_lab.book.readability import problems as readability_problems

    report = SiteReport()
    executable = shutil.which(browser)
    if executable is None:
        report.problems.append(f"{browser} not found: install Debian's chromium "
                               "(apt-get install chromium)")
        return report
    screenshots.mkdir(parents=True, exist_ok=True)
    keys = set(labels())
    for page, expected in site_pages().items():
        path = html_dir / page
        if not path.exists():
            report.problems.append(f"{page}: not built")
            continue
        dom = _chromium(executable, ["--dump-dom", path.resolve().as_uri()])
        report.problems += check_page(page, dom, *expected)
        measured = {width: measure_page(executable, path, width,
                                        screenshots / f"{path.stem}-{width}.png")
                    for width in WIDTHS}
        for image in measured[max(WIDTHS)].get("images", []):
            image.update(image_facts(path.parent, image.get("src", "")))
        for check, message in readability_problems(page, measured, keys):
            if excused(check, page, exceptions) and not strict:
                report.excused.append(f"{message} [{check}: known exception]")
            else:
                report.problems.append(f"{message} [{check}]")
    if (html_dir / "slides").is_dir():  # the teaching decks (lt_lab.book.slides), when built
        report.problems += check_decks(html_dir / "slides", screenshots / "slides", browser)
    return report


# Run in the page once it has loaded (and MathJax had its virtual seconds): what a reader
# sees, posted to the frame around the page, which writes it into an attribute of its <html>
# that --dump-dom returns. The frame gives the page its exact width: a headless window is at
# least 500 px wide, a phone 390.
MEASURE = """<script>
window.addEventListener("load", () => setTimeout(() => {
  const article = document.querySelector("article") || document.querySelector("main")
    || document.body;
  const text = (node) => (node.innerText || node.textContent || "").trim();
  const tables = [...article.querySelectorAll("table")].map((table) => {
    const verdict = [...table.querySelectorAll("th")].find(
      (th) => text(th).toLowerCase().startsWith("verdict"));
    const box = verdict ? verdict.getBoundingClientRect() : null;
    return {classes: table.className, heads: [...table.querySelectorAll("th")].map(text),
            cells: [...table.querySelectorAll("td, th")].map(text),
            verdict: box && {left: box.left, right: box.right, width: box.width}};
  });
  const images = [...article.querySelectorAll("img")].map((img) => {
    const figure = img.closest("figure");
    const caption = figure && figure.querySelector("figcaption");
    return {src: img.getAttribute("src") || "", alt: img.getAttribute("alt") || "",
            caption: caption ? text(caption) : "", shown: img.getBoundingClientRect().width};
  });
  const prose = article.cloneNode(true);
  prose.querySelectorAll("pre, code, script, style, table, .cell_input").forEach(
    (node) => node.remove());
  parent.postMessage({width: window.innerWidth, height: window.innerHeight,
    scrollHeight: document.documentElement.scrollHeight, tables, images,
    prose: prose.textContent}, "*");
}, 1000));
</script>"""
FRAME = """<!doctype html><html><head><style>body{{margin:0}}iframe{{border:0;display:block}}
</style></head><body><iframe src="{page}" width="{width}" height="{height}"></iframe><script>
window.addEventListener("message", (event) => document.documentElement.setAttribute(
  "data-lt-check", JSON.stringify(event.data)));
</script></body></html>"""
MEASURED = re.compile(r'<html[^>]*\sdata-lt-check="([^"]*)"')
SHOT_HEIGHT = 2400  # px of a page in its screenshot


def measure_page(executable: str, path: Path, width: int, screenshot: Path | None = None
                 ) -> dict:
    """Open ``path`` in a frame ``width`` CSS px wide: what :data:`MEASURE` found (``{}``
    when it did not report); a screenshot of the frame into ``screenshot``."""
    page = path.read_text(encoding="utf-8")
    base = f'<base href="{path.parent.resolve().as_uri()}/">'
    page = re.sub(r"<head([^>]*)>", lambda m: f"<head{m.group(1)}>{base}", page, count=1)
    with tempfile.TemporaryDirectory() as folder:
        copy, frame = Path(folder) / path.name, Path(folder) / "frame.html"
        copy.write_text(page.replace("</body>", MEASURE + "</body>", 1), encoding="utf-8")
        frame.write_text(FRAME.format(page=copy.as_uri(), width=width, height=SHOT_HEIGHT))
        arguments = ["--dump-dom", f"--window-size={max(width, 500)},{SHOT_HEIGHT}",
                     frame.as_uri()]
        if screenshot is not None:
            arguments.insert(0, f"--screenshot={screenshot}")
        found = MEASURED.search(_chromium(executable, arguments))
    return json.loads(html.unescape(found.group(1))) if found else {}


def image_facts(folder: Path, src: str) -> dict:
    """What the PNG an ``<img src>`` of a page in ``folder`` says of itself: ``natural_px``
    (its width in pixels), ``text_pt`` and ``width_in`` (its smallest text and its width, as
    the book's theme recorded them; see :mod:`lt_lab.book.figure_text`). ``{}`` for an image
    that is not a local PNG."""
    from lt_lab.book.figure_text import figure_text, png_size

    path = folder / src.split("?", 1)[0].split("#", 1)[0]
    if src.startswith(("http:", "https:", "data:")) or not path.is_file():
        return {}
    try:
        facts = {"natural_px": png_size(path.read_bytes())[0]}
    except ValueError:
        return {}
    text = figure_text(path)
    if text is not None:
        facts.update(text_pt=text[0], width_in=text[1])
    return facts


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


# --- the teaching decks (lt_lab.book.slides) -------------------------------------------------

# Run in a deck once reveal.js is ready: go to slide INDEX, give MathJax a moment, then report
# what the slide shows and whether anything in it lies outside the slide's box (reveal.js
# scales the slide to the window, so the box is the scaled slide; a table cut by its scroll
# box counts as overflowing too).
SLIDE_MEASURE = """<script>
window.addEventListener("load", () => {
  const go = () => {
    Reveal.slide(INDEX, 0);
    setTimeout(() => {
      const slide = Reveal.getCurrentSlide();
      const box = Reveal.getSlidesElement().getBoundingClientRect();
      const scale = Reveal.getScale ? Reveal.getScale() : 1;
      const out = [];
      slide.querySelectorAll("*").forEach((node) => {
        const r = node.getBoundingClientRect();
        const own = [...node.childNodes].some((c) => c.nodeType === 3 && c.textContent.trim());
        if (r.width === 0 || r.height === 0 || !(own || node.tagName === "IMG")) return;
        if (r.bottom > box.bottom + 2 || r.right > box.right + 2 || r.left < box.left - 2
            || r.top < box.top - 2) {
          out.push(((node.innerText || node.getAttribute("alt") || node.tagName) + "")
                   .trim().slice(0, 60));
        }
      });
      const clipped = [...slide.querySelectorAll("*")].filter((node) => {
        const style = getComputedStyle(node);
        return /(auto|scroll|hidden)/.test(style.overflowX + style.overflowY)
          && (node.scrollWidth > node.clientWidth + 2 || node.scrollHeight > node.clientHeight + 2)
          && !node.closest("mjx-container");
      }).map((node) => (node.innerText || node.tagName).trim().slice(0, 60));
      const drawn = (cell) => {  // the boxes of a cell's text and formulas, as drawn (not
        const boxes = [];        // MathJax's hidden copy for screen readers)
        const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
        while (walker.nextNode()) {
          const node = walker.currentNode;
          if (!node.textContent.trim() || node.parentElement.closest("mjx-assistive-mml")) {
            continue;
          }
          const range = document.createRange();
          range.selectNodeContents(node);
          boxes.push(range.getBoundingClientRect());
        }
        cell.querySelectorAll("mjx-math").forEach((m) => boxes.push(m.getBoundingClientRect()));
        return boxes.filter((box) => box.width > 0);
      };
      const spilled = [...slide.querySelectorAll("td, th")].filter((cell) => {
        const outer = cell.getBoundingClientRect();
        return drawn(cell).some((box) => box.right > outer.right + 1
                                          || box.left < outer.left - 1);
      }).map((cell) => (cell.innerText || "").trim().slice(0, 60));
      const images = [...slide.querySelectorAll("img")];
      document.documentElement.setAttribute("data-lt-slide", JSON.stringify({
        index: Reveal.getIndices().h, total: Reveal.getTotalSlides(), scale,
        text: (slide.innerText || "").trim(),
        images: images.length, broken: images.filter((i) => !i.naturalWidth).length,
        math: slide.querySelectorAll("mjx-container").length,
        overflow: out, clipped, spilled}));
    }, 1500);
  };
  if (Reveal.isReady()) go(); else Reveal.on("ready", go);
});
</script>"""
SLIDE_MEASURED = re.compile(r'<html[^>]*\sdata-lt-slide="([^"]*)"')
RAW_MATH = re.compile(r"\$\$|(?<![\\$])\$[^$\s][^$]*\$")


def measure_slide(executable: str, deck: Path, index: int, screenshot: Path | None = None
                  ) -> dict:
    """Open slide ``index`` (0-based) of ``deck`` at the deck's own size: what
    :data:`SLIDE_MEASURE` found (``{}`` when it did not report); its screenshot. The copy
    that carries the script lies beside the deck, so its relative links hold."""
    from lt_lab.book.paths import SLIDE_SIZE

    page = deck.read_text(encoding="utf-8").replace(
        "</body>", SLIDE_MEASURE.replace("INDEX", str(index)) + "</body>", 1)
    copy = deck.with_name(f".check-{deck.stem}-{index}.html")
    copy.write_text(page, encoding="utf-8")
    try:
        arguments = ["--dump-dom", f"--window-size={SLIDE_SIZE[0]},{SLIDE_SIZE[1]}",
                     copy.resolve().as_uri()]
        if screenshot is not None:
            arguments.insert(0, f"--screenshot={screenshot}")
        found = SLIDE_MEASURED.search(_chromium(executable, arguments))
    finally:
        copy.unlink(missing_ok=True)
    return json.loads(html.unescape(found.group(1))) if found else {}


def slide_problems(deck: str, number: int, measured: dict) -> list[str]:
    """What is wrong with one slide as measured: it did not load, it is empty, text or a
    figure overflows it, a table cell's text spills over its neighbours, an image is broken,
    a formula was left untypeset."""
    where = f"slides/{deck} slide {number}"
    if not measured:
        return [f"{where}: did not load (reveal.js or the slide script failed)"]
    problems = []
    if not measured.get("text") and not measured.get("images"):
        problems.append(f"{where}: empty")
    if measured.get("overflow"):
        problems.append(f"{where}: overflows the slide: {measured['overflow'][:3]}")
    if measured.get("clipped"):
        problems.append(f"{where}: content cut by its box: {measured['clipped'][:3]}")
    if measured.get("spilled"):
        problems.append(f"{where}: table cells whose text spills over their neighbours: "
                        f"{measured['spilled'][:3]}")
    if measured.get("broken"):
        problems.append(f"{where}: {measured['broken']} image(s) did not load")
    if RAW_MATH.search(measured.get("text", "")):
        problems.append(f"{where}: formulas not typeset (MathJax did not load from "
                        "slides/mathjax)")
    return problems


def check_decks(decks: Path, screenshots: Path | None = None, browser: str = "chromium",
                names: list[str] | None = None) -> list[str]:
    """Open every slide of every deck in ``decks`` (or of ``names``) in headless Chromium:
    a screenshot of each (``<screenshots>/<deck>-<n>.png``) and the problems found (an empty
    slide, overflowing text, a deck of no or more than 15 slides)."""
    from lt_lab.book.paths import MAX_SLIDES

    executable = shutil.which(browser)
    if executable is None:
        return [f"{browser} not found: install Debian's chromium (apt-get install chromium)"]
    screenshots = decks.parent.parent / "screenshots" / "slides" if screenshots is None \
        else screenshots
    screenshots.mkdir(parents=True, exist_ok=True)
    files = sorted(decks / f"{name}.html" for name in names) if names else \
        sorted(p for p in decks.glob("*.html") if not p.name.startswith("."))
    problems = []
    for deck in files:
        if not deck.exists():
            problems.append(f"slides/{deck.name}: not built")
            continue
        first = measure_slide(executable, deck, 0, screenshots / f"{deck.stem}-1.png")
        total = int(first.get("total", 0))
        if not 1 <= total <= MAX_SLIDES:
            problems.append(f"slides/{deck.name}: {total} slides, expected 1 to {MAX_SLIDES}")
        problems += slide_problems(deck.name, 1, first)
        for index in range(1, total):
            measured = measure_slide(executable, deck, index,
                                     screenshots / f"{deck.stem}-{index + 1}.png")
            problems += slide_problems(deck.name, index + 1, measured)
    return problems
