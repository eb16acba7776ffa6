"""Teaching decks: one reveal.js deck per chapter, curated from the cells tagged for slides.

A deck is not one slide per cell. Only the cells a chapter tags for it go in, in the page's
order, and a deck holds at most :data:`MAX_SLIDES` slides (:class:`SlidesError` otherwise):
the question, the idea with its equation, the key figure, the verdict table, what we learned.
The tags (cell metadata, ``tags``):

``slide``
    the cell starts a slide. A markdown cell shows its text without what the page folds (its
    dropdowns, admonitions, exercises) and without label lines; a code cell shows its
    figures and tables (never its code), a figure with the first sentence of its caption.
``slide-N`` (N = 0, 1, 2, ...)
    the same, but a markdown cell keeps only its first N blocks (paragraphs, list items,
    tables, display equations) and the headings before them (``slide-0``: its headings only).
``slide-hK`` (K = 1, 2, ...)
    with ``slide`` or ``slide-N``: a markdown cell's slide starts at its K-th heading (a
    "What we learned" that shares its cell with the paragraph before it).
``slide-add``
    the cell is added to the slide before it (e.g. a figure under the paragraph that
    states its equation); it may carry a ``slide-N`` tag too for its length.

MyST roles a plain Markdown renderer does not know are resolved first: a glued number
(``{glue:text}``) becomes the value the executed chapter computed, a citation its
author–year label from ``book/references.bib``, a cross-reference its text.

The decks are built with nbconvert's slides exporter from the **executed** chapters
(``_build/src/chapters/``, what ``lt-lab book execute`` writes) into ``_build/html/slides/``
beside the site, where the course page links them. reveal.js comes from npm (``package.json``
and its lockfile at the repository root pin 4.0.2, the version nbconvert's template is
written for; ``npm ci`` installs it into ``node_modules/``) and is copied next to the decks
with the book's own MathJax, so that a deck opened from disk works offline: the template
used here replaces the slides template's CDN scripts (require.js, jQuery, mermaid, MathJax 2)
with those local copies.

``python -m lt_lab.book.slides [CHAPTER ...] [--check]``; tags are read from the executed
copy and, by cell id, from the chapter's source (so a newly tagged cell counts before the
chapter is executed again).
"""

from __future__ import annotations

import argparse
import ast
import copy
import html
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

from lt_lab.book import paths
from lt_lab.errors import UserError

TAG = "slide"
ADD_TAG = "slide-add"
BLOCKS_TAG = re.compile(r"slide-(\d+)")
FROM_TAG = re.compile(r"slide-h(\d+)")  # start at the cell's K-th heading
MAX_SLIDES = paths.MAX_SLIDES
REVEAL_VERSION = "4.0.2"  # nbconvert 7's slides template: https://unpkg.com/reveal.js@4.0.2
REVEAL = paths.ROOT / "node_modules" / "reveal.js"  # `npm ci` at the repository root
MATHJAX = paths.ROOT / "book" / "_static" / "mathjax"  # the site's own MathJax 3
REVEAL_DIR = "reveal.js"  # the copy next to the decks: the exporter's reveal_url_prefix
MATHJAX_DIR = "mathjax"
SLIDE_SIZE = paths.SLIDE_SIZE  # reveal.js's width and height of a slide, in CSS px


class SlidesError(UserError, RuntimeError):
    """A deck cannot be built: too many or no tagged slides, a missing chapter or reveal.js."""


def decks_dir() -> Path:
    """Where the decks go: ``slides/`` in the built site (``_build/html``)."""
    return paths.BUILD / "html" / "slides"


def executed_dir() -> Path:
    """The executed chapters the decks are made from (``_build/src/chapters``)."""
    return paths.STAGE / "chapters"


# --- which cells, and what they show ------------------------------------------------------

def slide_role(tags) -> tuple[str, int | None] | None:
    """What a cell's tags make of it: ``("slide", blocks)`` starts a slide, ``("add",
    blocks)`` joins the previous one, None leaves it out. ``blocks`` is the N of a
    ``slide-N`` tag (None: the whole cell)."""
    tags = list(tags or ())
    blocks = next((int(m.group(1)) for t in tags if (m := BLOCKS_TAG.fullmatch(t))), None)
    if blocks is None and any(FROM_TAG.fullmatch(t) for t in tags) and TAG not in tags:
        return None  # slide-hK says where a slide starts, not that there is one
    if ADD_TAG in tags:
        return "add", blocks
    if TAG in tags or blocks is not None:
        return "slide", blocks
    return None


def glued_values(notebook: dict) -> dict[str, str]:
    """``{name: text}`` of every value the executed notebook glued (``chapter.glue`` and
    myst-nb's ``glue`` write a hidden display whose metadata names it)."""
    values = {}
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []):
            scrap = output.get("metadata", {}).get("scrapbook")
            if not scrap:
                continue
            data = output.get("data", {})
            text = data.get(f"{scrap.get('mime_prefix', '')}text/plain", data.get("text/plain"))
            if isinstance(text, list):
                text = "".join(text)
            if text is None:
                continue
            try:
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                value = text
            values[scrap["name"]] = str(value)
    return values


ROLE = re.compile(r"\{([A-Za-z][\w:\-]*)\}`([^`]*)`")
EXPLICIT = re.compile(r"^(.*?)\s*<([^<>]+)>$", re.DOTALL)


def resolve_roles(text: str, glued: dict[str, str], cites: dict[str, str] | None = None) -> str:
    """MyST roles turned into what a plain Markdown renderer shows: glue → its value,
    cite → "(Author et al., year)", numref/ref/doc → their text, math → ``$…$``."""
    cites = {} if cites is None else cites

    def replace(match):
        role, body = match.group(1), match.group(2).strip()
        explicit = EXPLICIT.match(body)
        title, target = (explicit.group(1), explicit.group(2)) if explicit else (None, body)
        if role.startswith("glue"):
            return glued.get(target, f"`{target}`")
        if role.startswith("cite"):
            labels = [cites.get(key.strip(), key.strip()) for key in target.split(",")]
            return "(" + "; ".join(labels) + ")"
        if role == "math":
            return f"${body}$"
        if role == "numref":
            if title:
                return title.replace("%s", "").replace("{number}", "").strip()
            return "the figure" if target.startswith("fig") else "below"
        return title or target

    return ROLE.sub(replace, text)


FENCE = re.compile(r"^(\s*)(`{3,}|:{3,})\s*(\{([\w\-:]+)\})?(.*)$")
LABEL = re.compile(r"^\s*\([\w\-:.]+\)=\s*$")


def _drop_folded(text: str) -> str:
    """The markdown without directive blocks (dropdowns, admonitions, exercises, solutions,
    nested ones included) and label lines; a ``{math}`` block is kept as ``$$…$$``."""
    out, stack, math = [], [], []
    for line in text.splitlines():
        fence = FENCE.match(line)
        if stack:
            if fence and fence.group(2)[0] == stack[-1][0] and len(fence.group(2)) >= \
                    len(stack[-1]) and not fence.group(3) and not fence.group(5).strip():
                stack.pop()
                if not stack and math:
                    out += ["$$", *math[1:], "$$"]
                    math = []
            elif fence and fence.group(3):
                stack.append(fence.group(2))
            elif math:
                if not line.lstrip().startswith(":"):
                    math.append(line)
            continue
        if fence and fence.group(3):
            stack.append(fence.group(2))
            if fence.group(4) == "math":
                math = ["$$"]
            continue
        if LABEL.match(line):
            continue
        out.append(line)
    return "\n".join(out)


LIST_ITEM = re.compile(r"^(?:[-*+]|\d+[.)])\s")


def markdown_blocks(text: str) -> list[str]:
    """The blocks of a markdown text: runs of lines between blank lines, each item of a
    top-level list a block of its own, a ``$$`` display equation or a code fence kept whole
    even across blank lines."""
    blocks, current, inside = [], [], None
    for line in text.splitlines():
        stripped = line.strip()
        if inside is None and not stripped:
            if current:
                blocks.append("\n".join(current))
                current = []
            continue
        if inside is None and current and LIST_ITEM.match(line):
            blocks.append("\n".join(current))  # a new item of a top-level list
            current = []
        current.append(line)
        if inside is None:
            if stripped.startswith("$$") and not (len(stripped) > 2 and stripped.endswith("$$")):
                inside = "$$"
            elif stripped.startswith("```"):
                inside = "```"
        elif stripped.startswith(inside) or stripped.endswith(inside):
            inside = None
    if current:
        blocks.append("\n".join(current))
    return blocks


def condense(source: str, blocks: int | None, glued: dict[str, str],
             cites: dict[str, str] | None = None, start: int = 0) -> str:
    """A markdown cell as a slide shows it: without folded material; from its ``start``-th
    heading on when ``start`` ≥ 1 (0: from its beginning); with ``blocks``, its first ``blocks``
    blocks that are not headings, and the headings before them; roles resolved."""
    parts = markdown_blocks(_drop_folded(source))
    if start >= 1:
        headings = [i for i, part in enumerate(parts) if part.lstrip().startswith("#")]
        parts = parts[headings[start - 1]:] if len(headings) >= start else []
    if blocks is not None:  # headings only up to the last block kept (not the next section's)
        kept, body = [], 0
        for part in parts:
            heading = part.lstrip().startswith("#")
            if heading and (body < blocks or body == blocks == 0):
                kept.append(part)
            elif not heading and body < blocks:
                kept.append(part)
                body += 1
            else:
                break
        parts = kept
    text = ""
    for part in parts:  # the items of one list stay one (tight) list
        tight = text and LIST_ITEM.match(part) and LIST_ITEM.match(text.rsplit("\n\n", 1)[-1])
        text += ("\n" if tight else "\n\n" if text else "") + part
    return resolve_roles(text, glued, cites)


SENTENCE = re.compile(r"^(.+?[.!?])(\s|$)", re.DOTALL)


def first_sentence(text: str) -> str:
    """The first sentence of ``text`` (all of it when it has no full stop)."""
    found = SENTENCE.match(" ".join(text.split()))
    return found.group(1) if found else " ".join(text.split())


SHOWN = ("image/png", "image/svg+xml", "text/html", "text/markdown")


def shown_outputs(cell: dict) -> list[dict]:
    """The outputs of a code cell a slide shows: figures and tables (no streams, no plain
    text, no hidden glue)."""
    kept = []
    for output in cell.get("outputs", []):
        if output.get("output_type") not in ("display_data", "execute_result"):
            continue
        if output.get("metadata", {}).get("scrapbook"):
            continue
        data = {k: "".join(v) if isinstance(v, list) else v
                for k, v in output.get("data", {}).items() if k in SHOWN}
        if not data:
            continue
        for richer, poorer in (("image/png", "text/html"), ("text/html", "text/markdown")):
            if richer in data:
                data.pop(poorer, None)
        kept.append({**output, "data": data})
    return kept


def caption(cell: dict) -> str | None:
    """The caption myst-nb gives a code cell's figure (``mystnb.figure.caption``)."""
    figure = cell.get("metadata", {}).get("mystnb", {}).get("figure", {})
    return figure.get("caption")


def select_slides(notebook: dict, source: dict | None = None,
                  cites: dict[str, str] | None = None) -> list[list[dict]]:
    """The deck of an executed ``notebook``: one list of slide cells per slide (markdown
    condensed, code cells reduced to what they show). A cell's tags are its own and those
    of the cell with its id in ``source`` (the chapter's clean source)."""
    glued = glued_values(notebook)
    source_tags = {cell.get("id"): cell.get("metadata", {}).get("tags", [])
                   for cell in (source or {}).get("cells", []) if cell.get("id")}
    slides: list[list[dict]] = []
    for cell in notebook.get("cells", []):
        tags = [*cell.get("metadata", {}).get("tags", []), *source_tags.get(cell.get("id"), [])]
        role = slide_role(tags)
        if role is None:
            continue
        kind, blocks = role
        start = next((int(m.group(1)) for t in tags if (m := FROM_TAG.fullmatch(t))), 0)
        content = _slide_cells(cell, blocks, glued, cites, start)
        if not content:
            continue
        if kind == "add" and slides:
            slides[-1] += content
        else:
            slides.append(content)
    return slides


def _slide_cells(cell: dict, blocks: int | None, glued: dict, cites: dict | None,
                 start: int = 0) -> list[dict]:
    from nbformat.v4 import new_code_cell, new_markdown_cell

    if cell.get("cell_type") == "markdown":
        text = condense("".join(cell.get("source", "")), blocks, glued, cites, start)
        return [new_markdown_cell(text)] if text.strip() else []
    if cell.get("cell_type") != "code":
        return []
    outputs = shown_outputs(cell)
    if not outputs:
        return []
    mystnb = cell.get("metadata", {}).get("mystnb", {})
    alt = html.escape(" ".join(str(mystnb.get("image", {}).get("alt", "")).split()), quote=True)
    text = caption(cell)
    sentence = resolve_roles(first_sentence(text), glued, cites) if text else ""
    cells, tables = [], []
    for output in outputs:
        data = output["data"]
        if "image/png" in data:  # a figure: its image with the page's alt text and caption
            png = "".join(data["image/png"]).replace("\n", "")
            figure = (f'<figure class="lt-figure"><img alt="{alt or html.escape(sentence)}" '
                      f'src="data:image/png;base64,{png}"/>')
            if sentence:
                figure += f'<figcaption class="lt-caption">{sentence}</figcaption>'
            cells.append(new_markdown_cell(figure + "</figure>"))
        else:
            tables.append(copy.deepcopy(output))
    if tables:
        cells.append(new_code_cell("", outputs=tables))
    return cells


def check_count(slides: list, name: str) -> None:
    """A deck has between 1 and :data:`MAX_SLIDES` slides."""
    if not slides:
        raise SlidesError(f"{name}: no cell is tagged {TAG!r}, so there is no deck to make")
    if len(slides) > MAX_SLIDES:
        raise SlidesError(f"{name}: {len(slides)} slides tagged, at most {MAX_SLIDES} a deck: "
                          "untag some, or join a figure to its slide with 'slide-add'")


def deck_notebook(slides: list[list[dict]], title: str):
    """A notebook of the slides, each first cell marked as a new slide for the exporter."""
    import nbformat
    from nbformat.v4 import new_notebook

    cells = []
    for slide in slides:
        for position, cell in enumerate(slide):
            cell = copy.deepcopy(cell)
            cell["metadata"] = {"slideshow": {"slide_type": "slide" if position == 0 else "-"}}
            cells.append(cell)
    notebook = new_notebook(cells=cells, metadata={"title": title})
    nbformat.validate(notebook)
    return notebook


# --- the template and the export ------------------------------------------------------------

TEMPLATE = "lt_reveal"
CONF = {"base_template": "reveal", "mimetypes": {"text/html": True}}
INDEX = r"""{%- extends 'reveal/index.html.j2' -%}

{%- block html_head_js -%}{%- endblock html_head_js -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}

{%- block html_head_js_mathjax -%}
<script>
window.MathJax = {
  tex: {inlineMath: [["$", "$"], ["\\(", "\\)"]], displayMath: [["$$", "$$"], ["\\[", "\\]"]],
        processEscapes: true},
  options: {ignoreHtmlClass: "tex2jax_ignore"}
};
</script>
<script src="MATHJAX_DIR/tex-chtml.js" async></script>
{%- endblock html_head_js_mathjax -%}

{%- block html_head_css -%}
<style type="text/css">
:root { --jp-content-font-size1: 25px; --jp-ui-font-size1: 25px; }
.reveal .slides { text-align: left; }
.reveal .slides section { font-size: 30px; line-height: 1.35; }
.reveal h1 { font-size: 1.7em; } .reveal h2 { font-size: 1.35em; } .reveal h3 { font-size: 1.1em; }
.reveal p, .reveal li { margin: 0.35em 0; }
.reveal .lt-figure { margin: 0.3em auto; }
.reveal .lt-figure img, .reveal .jp-OutputArea-output img {
  max-height: 560px; width: auto; max-width: 100%; display: block; margin: 0 auto; }
.reveal table { font-size: 15px; margin: 0.2em auto; table-layout: auto; }
.reveal .jp-RenderedMarkdown table { font-size: 22px; }
.reveal table th, .reveal table td { padding: 0.15em 0.45em; }
.reveal td mjx-container, .reveal th mjx-container { display: inline-block; }
.reveal .claims-table .claim-meta { display: none; }
.reveal .claims-table { font-size: 14px; width: 100%; line-height: 1.2; table-layout: auto; }
.reveal .claims-table td.text, .reveal .claims-table th { text-align: left; }
.reveal .claims-table .verdict { white-space: nowrap; width: 1%; text-align: right; }
.reveal .claims-table th, .reveal .claims-table td { padding: 0.05em 0.4em; }
.reveal .lt-caption { font-size: 19px; color: #444; text-align: center; margin-top: 0.2em; }
.reveal .jp-OutputArea-prompt, .reveal .jp-InputPrompt { display: none; }
</style>
{%- endblock html_head_css -%}

{% block footer_js %}
<script src="{{ resources.reveal.url_prefix }}/dist/reveal.js"></script>
<script src="{{ resources.reveal.url_prefix }}/plugin/notes/notes.js"></script>
<script>
Reveal.initialize({
  controls: true, progress: true, hash: true, center: false, transition: "none",
  slideNumber: "c/t", plugins: [RevealNotes], width: WIDTH, height: HEIGHT
});
Reveal.on("slidechanged", () => {
  if (window.MathJax && MathJax.typesetPromise) { MathJax.typesetPromise(); }
});
</script>
{% endblock footer_js %}
""".replace("MATHJAX_DIR", MATHJAX_DIR).replace("WIDTH", str(SLIDE_SIZE[0])).replace(
    "HEIGHT", str(SLIDE_SIZE[1]))


def _template_dir(folder: Path) -> Path:
    """Write the deck template (the slides template, its CDN scripts replaced by the local
    copies) into ``folder``; the folder to add to nbconvert's template paths."""
    template = folder / TEMPLATE
    template.mkdir(parents=True, exist_ok=True)
    (template / "conf.json").write_text(json.dumps(CONF))
    (template / "index.html.j2").write_text(INDEX)
    return folder


def export_deck(notebook, output: Path) -> Path:
    """Render the deck notebook to ``output`` (an HTML file) with nbconvert's slides
    exporter and the local template."""
    from nbconvert.exporters import SlidesExporter

    with tempfile.TemporaryDirectory() as folder:
        exporter = SlidesExporter(
            extra_template_basedirs=[str(_template_dir(Path(folder)))], template_name=TEMPLATE,
            reveal_url_prefix=REVEAL_DIR, reveal_theme="white", exclude_input=True,
            exclude_input_prompt=True, exclude_output_prompt=True)
        body, _ = exporter.from_notebook_node(notebook)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(body, encoding="utf-8")
    return output


def install_assets(output_dir: Path, reveal: Path | None = None,
                   mathjax: Path | None = None) -> None:
    """Copy reveal.js (its ``dist/`` and the notes plugin) and MathJax next to the decks."""
    reveal = REVEAL if reveal is None else Path(reveal)
    mathjax = MATHJAX if mathjax is None else Path(mathjax)
    if not (reveal / "dist" / "reveal.js").exists():
        raise SlidesError(f"reveal.js is not installed in {reveal}: run `npm ci` at the "
                          "repository root (package.json pins reveal.js "
                          f"{REVEAL_VERSION}), or `make slides`")
    version = json.loads((reveal / "package.json").read_text()).get("version")
    if version != REVEAL_VERSION:
        raise SlidesError(f"{reveal} holds reveal.js {version}, not the pinned "
                          f"{REVEAL_VERSION}: run `npm ci`")
    target = output_dir / REVEAL_DIR
    for part in ("dist", "plugin/notes", "LICENSE"):
        source, destination = reveal / part, target / part
        if source.is_dir():
            shutil.copytree(source, destination, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("*.map"))
        elif source.exists():
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
    if mathjax.is_dir():
        shutil.copytree(mathjax, output_dir / MATHJAX_DIR, dirs_exist_ok=True)


def build_deck(executed: Path, output_dir: Path | None = None, source: Path | None = None,
               cites: dict[str, str] | None = None) -> tuple[Path, int]:
    """The deck of one executed chapter: ``<output_dir>/<stem>.html`` and its slide count.
    Raises :class:`SlidesError` with no tagged slide or more than :data:`MAX_SLIDES`."""
    import nbformat

    executed = Path(executed)
    output_dir = decks_dir() if output_dir is None else Path(output_dir)
    if not executed.exists():
        raise SlidesError(f"{executed} does not exist: execute the chapter first "
                          f"(lt-lab book execute chapters/{executed.name})")
    notebook = json.loads(executed.read_text(encoding="utf-8"))
    clean = json.loads(Path(source).read_text(encoding="utf-8")) \
        if source is not None and Path(source).exists() else None
    if cites is None:
        cites = _cites()
    slides = select_slides(notebook, clean, cites)
    check_count(slides, executed.stem)
    title = _title(notebook) or executed.stem
    deck = deck_notebook(slides, title)
    path = export_deck(nbformat.from_dict(deck), output_dir / f"{executed.stem}.html")
    return path, len(slides)


def _title(notebook: dict) -> str | None:
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "markdown":
            found = re.search(r"^#\s+(.+)$", "".join(cell.get("source", "")), re.M)
            if found:
                return found.group(1).strip()
    return None


def _cites() -> dict[str, str]:
    try:
        from lt_lab.book.bib import labels

        return labels()
    except Exception:  # noqa: BLE001 (no pybtex: the keys stand for themselves)
        return {}


def build_decks(chapters=None, source_dir: Path | None = None,
                output_dir: Path | None = None) -> dict[str, int]:
    """A deck for each chapter (default: every chapter of the table of contents) from its
    executed copy in ``source_dir``; the reveal.js and MathJax copies beside them.
    ``{stem: slides}``. Every chapter is tried; the errors are raised together."""
    source_dir = executed_dir() if source_dir is None else Path(source_dir)
    output_dir = decks_dir() if output_dir is None else Path(output_dir)
    names = [Path(c).stem for c in chapters] if chapters else \
        [nb.stem for nb in paths.toc_chapters()]
    install_assets(output_dir)
    counts, errors = {}, []
    for name in names:
        try:
            _, counts[name] = build_deck(source_dir / f"{name}.ipynb", output_dir,
                                         source=paths.CHAPTERS / f"{name}.ipynb")
        except SlidesError as error:
            errors.append(str(error))
    if errors:
        raise SlidesError("\n".join(errors))
    return counts


def main(argv=None) -> int:
    """``python -m lt_lab.book.slides``: build the decks (and with ``--check``, open every
    slide in headless Chromium)."""
    parser = argparse.ArgumentParser(
        prog="python -m lt_lab.book.slides",
        description="Build a teaching deck per chapter from its cells tagged 'slide' "
                    f"(at most {MAX_SLIDES} slides), into _build/html/slides/.")
    parser.add_argument("chapters", nargs="*",
                        help="chapter notebooks or names (default: every chapter of _toc.yml)")
    parser.add_argument("--source", type=Path, default=None,
                        help="folder of the executed chapters (default: _build/src/chapters)")
    parser.add_argument("--output", type=Path, default=None,
                        help="folder of the decks (default: _build/html/slides)")
    parser.add_argument("--check", action="store_true",
                        help="then screenshot every slide in headless Chromium and fail on an "
                             "empty slide or text that overflows it")
    args = parser.parse_args(argv)
    output = decks_dir() if args.output is None else args.output
    try:
        counts = build_decks(args.chapters or None, args.source, output)
    except SlidesError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for name, count in counts.items():
        print(f"{output / (name + '.html')}: {count} slides")
    if args.check:
        from lt_lab.book.site import check_decks

        problems = check_decks(output, names=list(counts))
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            return 1
        print(f"checked {sum(counts.values())} slides in {len(counts)} decks: none empty, "
              "none overflowing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
