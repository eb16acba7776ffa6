"""The book package's parts that run without papermill or a browser: paths, the environment
of executed kernels, the provenance header, the page check, freezing, the timing table."""

from __future__ import annotations

import os

import nbformat
import torch

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


def test_provenance_header_names_parameters_but_not_the_device_setting():
    header = book.provenance_header({"profile": "quick", "seeds": [0, 1], "device": "cpu"}, 12.4)
    assert header.startswith("```{admonition} How this page was made")
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
