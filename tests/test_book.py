"""The book package's parts that run without papermill or a browser: paths, the environment
of executed kernels, the provenance header, the page check, freezing, the timing table."""

from __future__ import annotations

import os

import nbformat
import pytest
import torch
from notebooks import executable_chapter

from lt_lab import book
from lt_lab.book.freeze import _freeze_cell, strip_metadata
from lt_lab.book.timing import count_records


def test_root_is_the_repository():
    assert (book.ROOT / "pyproject.toml").exists() and (book.ROOT / "lt_lab").is_dir()
    assert book.CHAPTERS == book.ROOT / "chapters" and book.STAGE == book.ROOT / "_build" / "src"
    assert book.chapter_notebooks()[0].name == "00_long_tail.ipynb"


def test_benchmark_records_go_to_the_repository_by_default():
    from lt_lab.bench.harness import default_output

    path = default_output(torch.device("cpu"))
    assert path.parent == book.ROOT / "data" / "bench" and path.name.startswith("cpu-")


def test_the_toc_lists_every_chapter_and_the_site_check_opens_each():
    assert book.toc_chapters() == book.chapter_notebooks()
    pages = book.site_pages()
    assert {"book/intro.html", "book/ledger.html"} <= set(pages)
    assert all(f"chapters/{nb.stem}.html" in pages for nb in book.chapter_notebooks())


def test_environment_sets_and_restores(monkeypatch):
    monkeypatch.setenv("LT_BOOK_KEPT", "before")
    monkeypatch.delenv("LT_BOOK_NEW", raising=False)
    with book.environment({"LT_BOOK_KEPT": "during", "LT_BOOK_NEW": "x"}):
        assert os.environ["LT_BOOK_KEPT"] == "during" and os.environ["LT_BOOK_NEW"] == "x"
    assert os.environ["LT_BOOK_KEPT"] == "before" and "LT_BOOK_NEW" not in os.environ


def test_provenance_header_is_a_folded_note_of_parameters_but_not_the_device_setting():
    header = book.provenance_header({"profile": "quick", "seeds": [0, 1], "device": "cpu"}, 12.4)
    assert header.startswith("```{admonition} How this page was made\n:class: note dropdown\n")
    assert "in 12 s on cpu" in header and '`profile="quick"`, `seeds=[0, 1]`' in header
    assert "`device=" not in header


def test_check_page_reports_what_a_page_lacks():
    dom = '<img><table></table><span class="math">x</span> Verdicts'
    problems = book.check_page("p.html", dom, 2, 1, ("Verdicts", "What we learned"))
    assert problems == ["p.html: 1 figures, expected at least 2",
                        "p.html: no 'What we learned'",
                        "p.html: formulas not rendered (MathJax did not load from "
                        "book/_static/mathjax)"]
    assert book.check_page("p.html", dom + "<mjx-container>", 1, 1, ("Verdicts",)) == []


FOREST = ('<figure class="forest-plot align-default" id="forest-01"><img alt="" '
          'src="../_images/f.png"><figcaption><p><span class="caption-number">Fig. 3 </span>'
          'Forest plot</p></figcaption></figure>')


def test_forest_plots_are_figures_of_class_forest_plot_with_an_image():
    from lt_lab.book.site import forest_plots

    assert forest_plots(FOREST) == 1
    assert forest_plots(FOREST + FOREST.replace("forest-01", "forest-02")) == 2
    assert forest_plots('<figure class="forest-plot"><figcaption>no image</figcaption></figure>'
                        ) == 0
    assert forest_plots('<figure class="align-default"><img src="a.png"></figure>') == 0


def test_check_page_wants_the_forest_plots():
    dom = "<img><table></table> Verdicts"
    assert book.check_page("c.html", dom, 1, 1, ("Verdicts",), 1) == [
        "c.html: 0 forest plots of the claims, expected at least 1"]
    assert book.check_page("c.html", dom + FOREST, 1, 1, ("Verdicts",), 1) == []


def test_every_chapter_and_the_ledger_must_show_a_forest_plot():
    pages = book.site_pages()
    assert pages["book/ledger.html"][3] >= 1 and "The verdict rule" in pages["book/ledger.html"][2]
    assert all(pages[f"chapters/{nb.stem}.html"][3] >= 1 for nb in book.chapter_notebooks())


def test_freezing_keeps_check_outputs_and_clears_the_rest():
    check = nbformat.v4.new_code_cell(f"{book.CHECK_MARK}\nprint(1)")
    other = nbformat.v4.new_code_cell("x = 1")
    other.outputs, other.execution_count = [nbformat.v4.new_output("stream", text="1")], 3
    executed = nbformat.v4.new_code_cell(check.source, execution_count=7)
    executed.id = check.id
    executed.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "1"},
                                               execution_count=7)]
    assert _freeze_cell(check, {check.id: executed}) is True
    assert not _freeze_cell(other, {}) and not _freeze_cell(nbformat.v4.new_markdown_cell(), {})
    assert check.execution_count == 7 and check.outputs[0]["execution_count"] is None
    assert other.outputs == [] and other.execution_count is None
    assert strip_metadata({"output_type": "stream", "execution_count": 2}) == {
        "output_type": "stream"}


def test_count_records_counts_json_files_below(tmp_path):
    assert count_records(tmp_path / "missing") == 0
    (tmp_path / "sub").mkdir()
    for name in ("a.json", "sub/b.json", "c.txt"):
        (tmp_path / name).write_text("{}")
    assert count_records(tmp_path) == 2


def test_format_book_time_is_a_table_in_seconds_and_minutes():
    record = {"store_empty_at_start": True, "results_dir": "/tmp/empty", "device": "cpu",
              "chapters": [{"notebook": "00_a.ipynb", "wall_time_s": 61.2,
                            "records_trained": 3}],
              "build_wall_time_s": 5.0, "total_wall_time_s": 66.2}
    lines = book.format_book_time(record).split("\n")
    assert lines[0] == "make book from an empty store (/tmp/empty) on cpu"
    assert lines[2].split() == ["00_a.ipynb", "61", "s", "3"]
    assert lines[3].split() == ["jupyter-book", "build", "5", "s"]
    assert lines[4].split() == ["total", "66", "s", "(1.1", "min)"]


# --- where an execution goes: non-default parameters never reach the default site ------------


def fake_chapter(folder, name="00_fake.ipynb"):
    """A chapter of three cells: a title, a ``parameters`` cell, and one that checks a claim
    on values that depend on the parameters and publishes it."""
    return executable_chapter(
        folder / name, "# 0. A fake chapter", 'profile = "quick"\nseeds = [0, 1, 2]',
        "from lt_lab.book import claims\n"
        "claim = claims.Claim(id='fake', paper='cui2019class', statement='s', "
        "reported='r', measure='m', threshold=1.0)\n"
        "checked = [claims.check(claim, [float(s) + len(profile) for s in seeds])]\n"
        "claims.publish('00_fake', f'0. Fake at {profile}', checked)")


@pytest.fixture
def build(tmp_path, monkeypatch):
    """The book's build folders moved into ``tmp_path/_build`` (the repository's untouched)."""
    from lt_lab.book import paths

    root = tmp_path / "_build"
    for name, path in (("BUILD", root), ("STAGE", root / "src"), ("CLAIMS", root / "claims"),
                       ("VARIANTS", root / "variants")):
        monkeypatch.setattr(paths, name, path)
    return root


def test_variant_names_are_readable_and_stable():
    from lt_lab.book.execute import variant_name

    assert variant_name({"seeds": [0, 1], "profile": "smoke"}) == "profile-smoke_seeds-0-1"
    assert variant_name({"use_cache": False}) == "use_cache-false"
    long = variant_name({"seeds": list(range(40))})
    assert len(long) <= 80 and long != variant_name({"seeds": list(range(41))})


def test_destination_keeps_non_default_executions_out_of_the_site(tmp_path, build):
    chapter = fake_chapter(tmp_path)
    assert book.destination(chapter, {}) == (build / "src" / "chapters", build / "claims")
    assert book.destination(chapter, {"profile": "quick"}) == (build / "src" / "chapters",
                                                               build / "claims")
    variant = build / "variants" / "profile-smoke"
    assert book.destination(chapter, {"profile": "smoke"}) == (variant, variant / "claims")
    assert book.destination(chapter, {"profile": "smoke"}, tmp_path / "out") == (
        tmp_path / "out", tmp_path / "out" / "claims")
    # the staging folder named explicitly: the ledger's claims (the page will be marked)
    assert book.destination(chapter, {"profile": "smoke"}, build / "src" / "chapters") == (
        build / "src" / "chapters", build / "claims")


@pytest.mark.slow
def test_execute_with_non_default_parameters_leaves_the_site_and_ledger_alone(
        tmp_path, build, capsys):
    from lt_lab.book.claims import load_published
    from lt_lab.cli import main

    chapter = fake_chapter(tmp_path)
    site, ledger = build / "src" / "chapters", build / "claims"
    assert main(["book", "execute", str(chapter)]) == 0  # the defaults: into the site
    (published,) = load_published(ledger)
    assert published["title"] == "0. Fake at quick" and "non_default_parameters" not in published
    site_before = (site / chapter.name).read_bytes()

    assert main(["book", "execute", str(chapter), "-p", "profile", "smoke"]) == 0
    assert "the site and the ledger are untouched" in capsys.readouterr().out
    assert (site / chapter.name).read_bytes() == site_before
    assert [p["title"] for p in load_published(ledger)] == ["0. Fake at quick"]
    variant = build / "variants" / "profile-smoke"
    (smoke,) = load_published(variant / "claims")
    assert smoke["title"] == "0. Fake at smoke"
    assert smoke["non_default_parameters"] == {"profile": "smoke"}
    executed = nbformat.read(variant / chapter.name, as_version=4)
    assert executed.metadata["lt_lab"]["non_default"] == {"profile": "smoke"}
    assert "Not the book's defaults" in executed.cells[2].source

    out = tmp_path / "elsewhere"
    assert main(["book", "execute", str(chapter), "-p", "seeds", "[5]", "--output",
                 str(out)]) == 0
    assert (out / chapter.name).exists() and load_published(out / "claims")[0]["claims"]
    assert (site / chapter.name).read_bytes() == site_before
    assert book.marked_pages(site) == {} and book.marked_pages(out) == {
        chapter.name: {"seeds": [5]}}


def test_the_ledger_marks_claims_made_with_non_default_parameters(tmp_path, monkeypatch):
    from lt_lab.book.claims import PARAMETERS_ENV, check, publish
    from lt_lab.book.ledger import render_ledger, render_summary

    claim = book_claim("gap")
    monkeypatch.setenv(PARAMETERS_ENV, '{"profile": "smoke"}')
    publish("01_smoke", "Smoke", [check(claim, [1, 2, 3])], directory=tmp_path)
    monkeypatch.setenv(PARAMETERS_ENV, "{}")
    publish("02_plain", "Plain", [check(claim, [1, 2, 3])], directory=tmp_path)
    text = render_ledger(tmp_path, {"claims": {}}, lambda claim_id: None)
    assert text.count("Not the book's defaults") == 1
    assert 'made with `profile="smoke"`' in text
    assert text.index("Not the book's defaults") < text.index("## [Plain]")
    summary = render_summary(tmp_path)
    assert "[Smoke](../chapters/01_smoke.ipynb) (**non-default parameters**)" in summary
    assert "[Plain](../chapters/02_plain.ipynb) |" in summary


# --- claim tables people can read ----------------------------------------------------------


def book_claim(claim_id="gap", **changes):
    from lt_lab.book.claims import Claim

    fields = dict(id=claim_id, paper="cui2019class", statement="Imbalance lowers accuracy",
                  reported="10 points [readme]", measure="balanced minus imbalanced accuracy",
                  threshold=2.0)
    return Claim(**{**fields, **changes})


LONG_TEXT = ("Class imbalance lowers accuracy on a balanced test set, and it does so class by "
             "class, |w_k| growing with n_k <b>*bold?*</b> $5")


def test_show_writes_full_text_escaped_with_the_verdict_first():
    from lt_lab.book import claims

    checked = [claims.check(book_claim(statement=LONG_TEXT), [1, 2, 3, 6])]
    table = claims.show(checked).html()
    assert '<table class="claims-table claims-verdicts">' in table
    header = table[table.index("<thead>"):table.index("</thead>")]
    assert header.index(">verdict<") < header.index(">claim<")
    # then one cell a claim, three or four short lines: its id and statement, then (smaller)
    # the paper with what it reported, what the claim needs and its category
    row = table[table.index("<tbody>"):]
    assert row.count("<td") == 2
    assert (row.index("<code>gap</code> Class imbalance") < row.index("Cui et al., 2019")
            < row.index("reported: 10 points [readme]; needs: &gt; 2 points; claim</span>"))
    assert "…" not in table and "..." not in table
    assert "|w_k| growing with n_k &lt;b&gt;*bold?*&lt;/b&gt; $5" in table  # whole and escaped
    # mean 3.0, 95 % interval 3 ± 3.437 (t(0.975, 3) · sd / 2) = [-0.4, 6.4], n=4; L <= 0
    assert ("<strong>inconclusive</strong><br><span class=\"claim-estimate\">"
            "3.0 [-0.4, 6.4] n=4</span>") in table
    assert '<a href="../book/references.html#cite-cui2019class">Cui et al., 2019</a>' in table
    assert ">cui2019class<" not in table


def test_show_reads_as_the_verdict_lines_in_plain_text():
    from lt_lab.book import claims

    checked = [claims.check(book_claim(), [1, 2, 3, 6])]
    assert repr(claims.show(checked)) == "\n".join(claims.verdict_lines(checked))


def test_show_of_the_declared_claims_has_no_verdict():
    from lt_lab.book import claims

    table = claims.show([book_claim()], view="declared").html()
    assert "claims-declared" in table and ">verdict<" not in table
    assert "measured as: balanced minus imbalanced accuracy; needs: &gt; 2 points" in table


def test_a_key_missing_from_the_bibliography_stays_visible():
    from lt_lab.book.bib import cite_html, label

    assert label("cui2019class") == "Cui et al., 2019"
    assert label("hasegawa2024exploring") == "Hasegawa and Sato, 2024"  # two authors
    assert cite_html("nobody2000") == "<code>nobody2000</code>"


# --- a second column of evidence -------------------------------------------------------------

LONG = "papers' schedule (200 epochs)"


def two_columns():
    from lt_lab.book import claims

    short = [claims.check(book_claim("gap"), [1, 2, 3, 6]),
             claims.check(book_claim("tail"), [5, 6, 7])]
    # gap at the papers' schedule: [4, 5, 6], mean 5, sd 1, half 4.303/sqrt(3) = 2.484:
    # [2.5, 7.5], L > 0 and m >= 2: reproduced; tail not measured there
    long = [claims.check(book_claim("gap"), [4, 5, 6])]
    return short, long


def test_show_gives_one_verdict_column_per_column_of_evidence():
    from lt_lab.book import claims

    short, long = two_columns()
    table = claims.show(short, {LONG: long, claims.GPU_COLUMN: None}, label="16 epochs").html()
    header = table[table.index("<thead>"):table.index("</thead>")]
    assert header.index("verdict, 16 epochs") < header.index("papers&#x27; schedule") \
        < header.index("full protocol (GPU)") < header.index(">claim<")
    gap = table[table.index("<tr><td"):]
    assert "5.0 [2.5, 7.5] n=3" in gap and gap.count("not yet run") == 2  # two rows
    assert "<strong>—</strong>" in table  # tail: not measured at the papers' schedule


def test_print_verdicts_adds_the_columns_after_the_main_lines(capsys):
    from lt_lab.book import claims

    short, long = two_columns()
    claims.print_verdicts(short, {LONG: long, claims.GPU_COLUMN: None})
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == claims.verdict_lines(short)
    assert lines[2:] == [f"-- {LONG} --", *claims.verdict_lines(long),
                         f"-- {claims.GPU_COLUMN} --", "not yet run"]


def test_publish_and_the_ledger_name_each_column(tmp_path):
    from lt_lab.book import claims
    from lt_lab.book.ledger import render_ledger, render_summary

    short, long = two_columns()
    claims.publish("02_margins", "Margins", short, tmp_path, label="16 epochs",
                   columns={LONG: long, claims.GPU_COLUMN: None})
    claims.publish("01_old", "Old", short, tmp_path)  # one column, as before
    (old, margins) = claims.load_published(tmp_path)
    assert margins["label"] == "16 epochs"
    assert margins["columns"][1] == {"label": claims.GPU_COLUMN, "claims": None}
    assert claims.published_columns(old) == {}
    assert claims.published_columns(margins)[LONG]["gap"] == long[0]
    text = render_ledger(tmp_path, {"claims": {}}, lambda claim_id: None)
    old_part, margins_part = text.split("## [Margins]")
    assert "* - verdict\n  - claim\n" in old_part
    assert ("* - verdict, 16 epochs\n  - papers' schedule (200 epochs)\n"
            "  - full protocol (GPU)\n  - claim\n") in margins_part
    assert ("* - **inconclusive**\\\n    3.0 \\[-0.4, 6.4\\] n=4\n"
            "  - **reproduced**\\\n    5.0 \\[2.5, 7.5\\] n=3\n  - not yet run\n"
            "  - gap\n  - {cite}`cui2019class`\n") in margins_part
    summary = render_summary(tmp_path)
    assert f"Column *{LONG}*" in summary.replace("\\", "")
    assert "| [Margins](../chapters/02_margins.ipynb) | 1 | 1 | 0 | 0 | 0 | 0 |" in summary
    assert "| [Margins](../chapters/02_margins.ipynb) | not yet run |" in summary


def test_the_forest_plot_draws_each_column_under_the_claim():
    import matplotlib.pyplot as plt

    from lt_lab.book import claims

    short, long = two_columns()
    figure = claims.forest_plot(short, {LONG: long, claims.GPU_COLUMN: None}, label="16 epochs")
    texts = [t.get_text() for ax in figure.axes for t in ax.texts]
    assert "● inconclusive" in texts and "■ reproduced" in texts  # gap, both columns
    legend = [t.get_text() for t in figure.legends[0].get_texts()]
    assert "16 epochs" in legend and LONG in legend and claims.GPU_COLUMN not in legend
    gap = figure.axes[0]
    assert any(list(line.get_xdata()) == pytest.approx([5 - 2.4841, 5 + 2.4841], abs=1e-3)
               for line in gap.lines)
    plt.close(figure)


def test_markdown_escaping_keeps_a_claims_text_as_typed():
    from lt_lab.book.claim_tables import escape_markdown, list_table

    assert escape_markdown("||w_k|| *grows*") == "\\|\\|w\\_k\\|\\| \\*grows\\*"
    assert escape_markdown("costs $5\nor <b>") == "costs \\$5 or \\<b\\>"
    # only at the start of a cell does a "1." or a "- " start a list
    assert escape_markdown("1. first") == "1\\. first" and escape_markdown("- a") == "\\- a"
    assert escape_markdown("3.0 -0.4 a-b") == "3.0 -0.4 a-b"
    assert list_table(["a", "b"], [["x\\\ny", "z"]]).split("\n") == [
        "```{list-table}", ":header-rows: 1", ":class: claims-table", "",
        "* - a", "  - b", "* - x\\", "    y", "  - z", "```"]


# --- the student edition -------------------------------------------------------------------

EXERCISE = """# Exercises

```{exercise}
:label: counts
How many images does the rarest class keep?
```

```{solution} counts
:class: dropdown
Five: SECRET-ANSWER.
```

:::{solution} counts
Also: COLON-ANSWER.
:::
"""


def test_the_student_config_hides_solutions_and_says_so():
    import yaml

    from lt_lab.book.edition import student_config

    config = yaml.safe_load(student_config((book.ROOT / "_config.yml").read_text()))
    assert config["sphinx"]["config"]["hide_solutions"] is True
    assert config["title"].endswith("(student edition)")
    published = yaml.safe_load((book.ROOT / "_config.yml").read_text())
    assert published["sphinx"]["config"]["hide_solutions"] is False
    assert config["repository"] == published["repository"]  # the same Colab buttons


@pytest.mark.slow  # copies book/ (MathJax included)
def test_staging_the_student_edition_leaves_the_site_alone(tmp_path, build):
    import yaml

    site = build / "src" / "chapters"
    site.mkdir(parents=True)
    for notebook in book.toc_chapters():  # executed chapters, as `book execute` leaves them
        nbformat.write(nbformat.v4.new_notebook(), site / notebook.name)
    student = book.stage(stage_dir=build / "student" / "src", student=True)
    assert yaml.safe_load((student / "_config.yml").read_text())["sphinx"]["config"][
        "hide_solutions"] is True
    assert sorted(p.name for p in (student / "chapters").iterdir()) == sorted(
        nb.name for nb in book.toc_chapters())
    assert (student / "book" / "fork.md").exists()
    assert not (build / "src" / "_config.yml").exists()  # the site's staging untouched


def test_strip_solutions_leaves_the_exercises(tmp_path):
    from lt_lab.book.edition import strip_solutions

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell(EXERCISE),
                      nbformat.v4.new_markdown_cell("```{solution} counts\nonly this\n```"),
                      nbformat.v4.new_code_cell("x = 1")]
    source = tmp_path / "00_x.ipynb"
    nbformat.write(notebook, source)
    assert strip_solutions(source, tmp_path / "out" / "00_x.ipynb") == 3
    stripped = nbformat.read(tmp_path / "out" / "00_x.ipynb", as_version=4)
    assert len(stripped.cells) == 2  # the cell that held only a solution is gone
    text = stripped.cells[0].source
    assert "{exercise}" in text and "rarest class" in text
    assert "SECRET-ANSWER" not in text and "COLON-ANSWER" not in text and "{solution}" not in text


@pytest.mark.slow
def test_hide_solutions_builds_the_exercises_without_their_solutions(tmp_path):
    """The flag the student edition sets, in a one-page Sphinx build with the book's
    extensions: the exercise is there, its solution is not."""
    import subprocess
    import sys

    (tmp_path / "index.md").write_text(EXERCISE)
    (tmp_path / "conf.py").write_text(
        'extensions = ["myst_parser", "sphinx_exercise"]\n'
        'myst_enable_extensions = ["colon_fence"]\nhide_solutions = True\n')
    sphinx = [sys.executable, "-m", "sphinx", "-q", "-b", "html", str(tmp_path),
              str(tmp_path / "html")]
    subprocess.run(sphinx, check=True, capture_output=True)
    page = (tmp_path / "html" / "index.html").read_text()
    assert "rarest class" in page and "SECRET-ANSWER" not in page
    assert "COLON-ANSWER" not in page


def test_a_column_with_too_few_seeds_shows_values_without_a_verdict():
    from lt_lab.book import claims

    one_seed = claims.check(book_claim("gap"), [4.0, 5.0])  # n=2: an interval, a verdict
    assert one_seed.verdict != claims.PROVISIONAL
    (shown,) = claims.provisional([one_seed], min_seeds=3)
    assert shown.verdict == claims.PROVISIONAL and shown.values == (4.0, 5.0)
    assert claims.provisional([claims.check(book_claim(), [])]) == [
        claims.check(book_claim(), [])]  # not run stays not run
    table = claims.show([one_seed], {claims.GPU_COLUMN: [shown]}).html()
    assert "<strong>no verdict yet</strong><br><span class=\"claim-estimate\">4.5" in table
