"""The teaching decks (lt_lab.book.slides): which cells become slides, the 15-slide rule, a deck
built from a tiny notebook against a local reveal.js, and the chapters' own tags."""

import json
import shutil
from pathlib import Path

import pytest

from lt_lab.book import slides
from lt_lab.book.paths import CHAPTERS, chapter_notebooks

nbformat = pytest.importorskip("nbformat")
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output  # noqa: E402

PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJ"
       "RU5ErkJggg==")


def cell(kind, source="", tags=(), outputs=(), **metadata):
    made = new_markdown_cell(source) if kind == "md" else new_code_cell(source,
                                                                        outputs=list(outputs))
    made.metadata.update(metadata)
    if tags:
        made.metadata["tags"] = list(tags)
    return made


def glue(name, value):
    return new_output("display_data", data={"application/papermill.record/text/plain":
                                            repr(value)},
                      metadata={"scrapbook": {"name": name,
                                              "mime_prefix": "application/papermill.record/"}})


def figure():
    return new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"})


def tiny_notebook(slide_count=3):
    cells = [
        cell("md", "# 9. A tiny chapter\n\nWhat does a *margin* buy the tail?\n\n"
                   "A second paragraph {cite}`cao2019learning`.", tags=["slide-1"]),
        cell("code", "x = 1", outputs=[glue("tiny-gain", "2.5 [1.0, 4.0]")],
             tags=["remove-cell"]),
        cell("md", "## Not on a slide\n\nUntagged prose."),
        cell("md", "## The idea\n\n$$\\mathrm{CE}(z + \\tau \\log \\pi, y)$$\n\n"
                   ":::{dropdown} Folded\nHidden from the slide.\n:::\n\n"
                   "(my-label)=\nThe gain is {glue:text}`tiny-gain` points, see "
                   "{numref}`fig-tiny`.", tags=["slide"]),
        cell("code", "plot()", outputs=[figure(), new_output("stream", text="noise")],
             tags=["hide-input", "slide-add"],
             mystnb={"figure": {"caption": "The offsets. More words follow here.",
                                "name": "fig-tiny"}, "image": {"alt": "A bar chart."}}),
        cell("code", "table()", tags=["slide"], outputs=[new_output(
            "execute_result", data={"text/html": "<table><tr><th>verdict</th></tr>"
                                                 "<tr><td>reproduced</td></tr></table>",
                                    "text/plain": "table"}, execution_count=1)]),
    ]
    cells += [cell("md", f"## Extra {i}\n\nMore.", tags=["slide"])
              for i in range(max(0, slide_count - 3))]
    return new_notebook(cells=cells)


def test_slide_role_reads_the_tags():
    assert slides.slide_role(["hide-input"]) is None
    assert slides.slide_role(["slide"]) == ("slide", None)
    assert slides.slide_role(["slide-2"]) == ("slide", 2)
    assert slides.slide_role(["slide-add"]) == ("add", None)
    assert slides.slide_role(["slide-add", "slide-1"]) == ("add", 1)
    assert slides.slide_role(["slides", "slide-x"]) is None
    assert slides.slide_role(["slide-h1"]) is None  # where a slide starts, not that it does
    assert slides.slide_role(["slide-h2", "slide-1"]) == ("slide", 1)


def test_a_slide_may_start_at_a_later_heading():
    text = "A paragraph of the section before.\n\n## What we learned\n\n- one\n- two\n\n" \
           "## Exercises\n\nDo them."
    assert slides.condense(text, 1, {}) == "A paragraph of the section before."
    assert slides.condense(text, 2, {}, start=1) == "## What we learned\n\n- one\n- two"
    assert slides.condense(text, 1, {}, start=1) == "## What we learned\n\n- one"  # an item
    assert slides.condense(text, 0, {}, start=2) == "## Exercises"
    assert slides.condense(text, 1, {}, start=3) == ""
    notebook = new_notebook(cells=[cell("md", text, tags=["slide-2", "slide-h1"])])
    assert slides.select_slides(notebook)[0][0].source.startswith("## What we learned")


def test_tagged_cells_only_condensed_and_resolved():
    notebook = tiny_notebook()
    deck = slides.select_slides(notebook, cites={"cao2019learning": "Cao et al., 2019"})
    assert len(deck) == 3  # the untagged cell and the glue cell are left out
    question, idea, table = deck
    assert question[0].source == "# 9. A tiny chapter\n\nWhat does a *margin* buy the tail?"
    text = idea[0].source
    assert "Folded" not in text and "Hidden" not in text and "(my-label)=" not in text
    assert "2.5 [1.0, 4.0] points" in text and "{glue" not in text and "{numref" not in text
    assert "$$\\mathrm{CE}" in text
    assert len(idea) == 2  # slide-add joined the figure to the idea; no stream, no code
    figure = idea[1].source
    assert figure.startswith('<figure class="lt-figure"><img alt="A bar chart." src="data:')
    assert "The offsets.</figcaption>" in figure and "More words" not in figure
    assert "text/html" in table[0].outputs[0]["data"]


def test_tags_from_the_clean_source_count_by_cell_id():
    executed = new_notebook(cells=[cell("md", "# Title\n\nText.")])
    source = json.loads(json.dumps(executed))
    source["cells"][0]["metadata"]["tags"] = ["slide"]
    assert slides.select_slides(executed) == []
    assert len(slides.select_slides(executed, source)) == 1


def test_roles_and_folded_blocks():
    glued = {"g": "0.92"}
    assert slides.resolve_roles("τ = {glue:text}`g`", glued) == "τ = 0.92"
    assert slides.resolve_roles("{cite}`a,b`", {}, {"a": "A, 2020"}) == "(A, 2020; b)"
    assert slides.resolve_roles("{doc}`chapter 2 <../chapters/02>`", {}) == "chapter 2"
    text = "keep\n\n```{admonition} x\n:class: note\nnested\n````{exercise}\nq\n````\n```\nend"
    assert slides.condense(text, None, {}) == "keep\n\nend"
    assert slides.condense("```{math}\n:label: eq\nx^2\n```", None, {}) == "$$\n\nx^2\n$$" \
        or "x^2" in slides.condense("```{math}\n:label: eq\nx^2\n```", None, {})


def test_at_most_fifteen_slides_and_at_least_one():
    slides.check_count([[{}]] * slides.MAX_SLIDES, "ok")
    with pytest.raises(slides.SlidesError, match="16 slides tagged, at most 15"):
        slides.check_count(slides.select_slides(tiny_notebook(16)), "ch")
    with pytest.raises(slides.SlidesError, match="no cell is tagged"):
        slides.check_count(slides.select_slides(new_notebook(cells=[cell("md", "x")])), "ch")


def test_build_deck_from_a_tiny_notebook(tmp_path):
    pytest.importorskip("nbconvert")
    executed = tmp_path / "09_tiny.ipynb"
    nbformat.write(tiny_notebook(), executed)
    out = tmp_path / "slides"
    slides.install_assets(out, reveal=fake_reveal(tmp_path / "reveal.js"))
    path, count = slides.build_deck(executed, out, cites={})
    assert count == 3 and path == out / "09_tiny.html"
    page = path.read_text()
    assert page.count("<section") == 2 * 3  # a slide and its (only) subslide each
    assert 'src="reveal.js/dist/reveal.js"' in page and 'src="mathjax/tex-chtml.js"' in page
    for remote in ("unpkg.com", "cdnjs", "cdn.jsdelivr", "require.js", "jquery"):
        assert remote not in page, remote  # nothing from a CDN: the deck works offline
    assert "x = 1" not in page and "plot()" not in page  # no code on a slide
    assert "Untagged prose" not in page
    assert (out / "reveal.js" / "dist" / "reveal.js").exists()
    assert (out / "mathjax" / "tex-chtml.js").exists()
    nbformat.write(tiny_notebook(16), executed)
    with pytest.raises(slides.SlidesError, match="at most 15"):
        slides.build_deck(executed, out, cites={})


def fake_reveal(folder):
    (folder / "dist").mkdir(parents=True)
    (folder / "plugin" / "notes").mkdir(parents=True)
    (folder / "dist" / "reveal.js").write_text("// reveal")
    (folder / "plugin" / "notes" / "notes.js").write_text("// notes")
    (folder / "package.json").write_text(json.dumps({"version": slides.REVEAL_VERSION}))
    return folder


def test_main_builds_the_named_decks_and_reports_errors(tmp_path, monkeypatch, capsys):
    pytest.importorskip("nbconvert")
    monkeypatch.setattr(slides, "REVEAL", fake_reveal(tmp_path / "reveal.js"))
    source, out = tmp_path / "executed", tmp_path / "decks"
    source.mkdir()
    nbformat.write(tiny_notebook(), source / "09_tiny.ipynb")
    assert slides.main(["09_tiny", "--source", str(source), "--output", str(out)]) == 0
    assert "09_tiny.html: 3 slides" in capsys.readouterr().out
    assert (out / "09_tiny.html").exists() and (out / "reveal.js" / "dist" / "reveal.js").exists()
    nbformat.write(tiny_notebook(16), source / "09_long.ipynb")
    assert slides.main(["09_long", "09_none", "--source", str(source),
                        "--output", str(out)]) == 1
    error = capsys.readouterr().err
    assert "09_long: 16 slides tagged, at most 15" in error and "execute the chapter" in error


def test_assets_refuse_a_missing_or_other_reveal(tmp_path):
    with pytest.raises(slides.SlidesError, match="npm ci"):
        slides.install_assets(tmp_path / "out", reveal=tmp_path / "none")
    reveal = tmp_path / "reveal.js"
    (reveal / "dist").mkdir(parents=True)
    (reveal / "dist" / "reveal.js").write_text("")
    (reveal / "package.json").write_text(json.dumps({"version": "5.1.0"}))
    with pytest.raises(slides.SlidesError, match="not the pinned"):
        slides.install_assets(tmp_path / "out", reveal=reveal)


def test_reveal_pinned_in_the_lockfile():
    root = CHAPTERS.parent
    lock = json.loads((root / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/reveal.js"]["version"] == slides.REVEAL_VERSION
    assert json.loads((root / "package.json").read_text())["dependencies"]["reveal.js"] == \
        slides.REVEAL_VERSION


@pytest.mark.parametrize("notebook", chapter_notebooks(), ids=lambda p: p.stem)
def test_every_chapter_tags_a_deck_of_at_most_fifteen(notebook):
    chapter = json.loads(Path(notebook).read_text())
    starts = [cell_ for cell_ in chapter["cells"]  # every cell that starts a slide, outputs or
              if (slides.slide_role(cell_["metadata"].get("tags")) or ("",))[0] == "slide"]
    assert 1 <= len(starts) <= slides.MAX_SLIDES  # not (the clean source has none): at most
    for cell_ in chapter["cells"]:  # tags only: a tagged cell is shown, never run differently
        if slides.slide_role(cell_["metadata"].get("tags")) and cell_["cell_type"] == "code":
            assert "remove-cell" not in cell_["metadata"]["tags"]


@pytest.mark.slow
def test_a_built_deck_passes_the_chromium_check(tmp_path):
    pytest.importorskip("nbconvert")
    if shutil.which("chromium") is None or not (slides.REVEAL / "dist").exists():
        pytest.skip("needs chromium and `npm ci` (reveal.js in node_modules)")
    from lt_lab.book.site import check_decks

    executed = tmp_path / "09_tiny.ipynb"
    nbformat.write(tiny_notebook(), executed)
    out = tmp_path / "slides"
    slides.install_assets(out)
    slides.build_deck(executed, out, cites={})
    assert check_decks(out, tmp_path / "shots") == []
    assert sorted(p.name for p in (tmp_path / "shots").iterdir()) == \
        ["09_tiny-1.png", "09_tiny-2.png", "09_tiny-3.png"]
    overflowing = new_notebook(cells=[cell("md", "## Too long\n\n" + "A line of text.\n\n" * 60,
                                           tags=["slide"])])
    nbformat.write(overflowing, tmp_path / "09_long.ipynb")
    slides.build_deck(tmp_path / "09_long.ipynb", out, cites={})
    problems = check_decks(out, tmp_path / "shots", names=["09_long"])
    assert any("overflows" in p for p in problems), problems
    spilling = new_notebook(cells=[cell("md", '## A table\n\n<table style="table-layout: fixed; '
                                        'width: 300px"><tr><td style="white-space: nowrap">'
                                        + "a cell far too long for its column " * 3
                                        + "</td><td>b</td></tr></table>", tags=["slide"])])
    nbformat.write(spilling, tmp_path / "09_table.ipynb")
    slides.build_deck(tmp_path / "09_table.ipynb", out, cites={})
    problems = check_decks(out, tmp_path / "shots", names=["09_table"])
    assert any("spills over" in p for p in problems), problems
