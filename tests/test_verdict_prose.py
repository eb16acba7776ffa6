"""Paragraphs that cannot go stale: every markdown cell of a chapter that uses a verdict word
(reproduced, partly, inconclusive, not reproduced, passes, fails) names a claim, and says of it
only a verdict the chapter computed — its frozen verdict cell, any column
(:mod:`lt_lab.book.verdict_prose`). The course and fork pages are held to the second half
(they use "passes" and "fails" in their plain sense too). And every number a chapter pastes
into its prose (myst-nb's ``{glue:text}``) is glued by one of its code cells."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from lt_lab.book.paths import ROOT, chapter_notebooks
from lt_lab.book.verdict_prose import (
    blocks,
    chapter_problems,
    frozen_verdicts,
    problems,
    unglued,
)

CHAPTERS = chapter_notebooks()
PAGES = sorted((ROOT / "book").glob("*.md"))
FROZEN = "\n".join([  # a verdict cell's output, shortened after the interval
    "ldam-beats-ce                claim       inconclusive   1.1 [-0.5, 2.8] n=10",
    "vs-matches-la                claim       not reproduced -9.0 [-13.3, -4.7] n=3",
    "imbalance-hurts              sanity      passes         20.9 [15.0, 26.8] n=3",
    "-- papers' schedule (200 epochs) --",
    "ldam-beats-ce                claim       reproduced     1.7 [-0.4, 3.8] n=3", ""])


def chapter_with(markdown: str, frozen: str = FROZEN):
    verdict = nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nclaims.print_verdicts(checked)")
    verdict.outputs = [nbformat.v4.new_output("stream", name="stdout", text=frozen)]
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [verdict, nbformat.v4.new_markdown_cell(markdown)]
    return notebook


def test_the_frozen_cell_gives_every_column_s_verdicts():
    assert frozen_verdicts(chapter_with("")) == {
        "ldam-beats-ce": {"inconclusive", "reproduced"}, "vs-matches-la": {"not reproduced"},
        "imbalance-hurts": {"passes"}}


def test_a_stale_verdict_word_is_caught_and_a_true_one_is_not():
    verdicts = frozen_verdicts(chapter_with(""))
    assert problems("`vs-matches-la` is not reproduced: VS trails LA.", verdicts) == []
    (stale,) = problems("`vs-matches-la` is inconclusive at three seeds.", verdicts, "p")
    assert "says ['inconclusive']" in stale and "vs-matches-la" in stale
    # "not reproduced" broken across lines is still two words of one verdict
    (wrong,) = problems("`ldam-beats-ce` stays not\nreproduced.", verdicts)
    assert "not reproduced" in wrong
    assert problems("`imbalance-hurts` passes.", verdicts) == []


def test_a_verdict_word_that_names_no_claim_fails_unless_the_page_may_use_it_plainly():
    verdicts = frozen_verdicts(chapter_with(""))
    (found,) = problems("The claims that were inconclusive were escalated.", verdicts)
    assert "name no claim" in found
    assert problems("The clone fails.", verdicts, require_claim=False) == []
    # a claim id inside a longer word is not the claim
    assert problems("`vs-matches-la-long` is reproduced.", verdicts)


def test_blocks_are_paragraphs_list_items_headings_and_directive_lines():
    text = ("## A heading\nFirst paragraph\ngoes on.\n\n- item one\n  continued\n- item two\n"
            ":::{dropdown} Title\nBody\n:::")
    assert blocks(text) == ["## A heading", "First paragraph\ngoes on.", "- item one\n  continued",
                            "- item two", ":::{dropdown} Title", "Body", ":::"]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_verdict_paragraphs_agree_with_the_frozen_verdicts(path):
    found = chapter_problems(path)
    assert not found, "\n".join(found)


def test_the_book_pages_say_of_a_claim_only_its_verdicts():
    verdicts = {}
    for path in CHAPTERS:
        for claim, said in frozen_verdicts(nbformat.read(path, as_version=4)).items():
            verdicts.setdefault(claim, set()).update(said)
    found = [problem for page in PAGES
             for problem in problems(page.read_text(), verdicts, page.name,
                                     require_claim=False)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_every_number_pasted_into_the_prose_is_glued_by_a_cell(path):
    assert unglued(nbformat.read(path, as_version=4)) == []


def test_a_pasted_key_without_its_glue_is_found():
    notebook = chapter_with("MAE {glue:text}`ch9-a` and {glue:text}`ch9-b-few`, {glue:text}`x`")
    notebook.cells.append(nbformat.v4.new_code_cell(
        'chapter.glue("ch9-a", 1.0)\nfor k in ks:\n    glue(f"ch9-{k}-few", 2.0)'))
    assert unglued(notebook) == ["x"]


def test_the_pages_exist():
    assert CHAPTERS and Path(ROOT / "book" / "course.md") in PAGES
