"""The ledger's forest plots: one per chapter, stacked, each a numbered figure with a caption and
an alt text, and each narrow enough that its smallest text is readable at the page's width.

The readable size is the site check's: text of f pt in a figure w inches wide, shown at the
book's 690 px column, is f * 690 / (72 w) px; the forest plot's smallest text is 7 pt (tick
labels, units, legend) in a column of 2.3 + 2.7 + 1.4 = 6.4 inches: 7 * 690 / (72 * 6.4) =
4830 / 460.8 = 10.48 px, at least the 9 px the check wants. The old all-claims plot drew two
such columns side by side, 12.8 inches: 5.2 px.
"""

from __future__ import annotations

import pytest

from lt_lab.book.claims import Claim, check, publish
from lt_lab.book.figure_text import MIN_TEXT_PX, figure_text, text_px


def claim(claim_id: str, category: str = "claim") -> Claim:
    return check(Claim(id=claim_id, paper="cui2019class", statement="A statement.",
                       reported="1 point [U]", measure="a difference, points", threshold=1.0,
                       category=category), [1.0, 2.0, 3.0])


@pytest.fixture
def published(tmp_path):
    """Two chapters: the first with a sanity check and a further column, the second without."""
    folder = tmp_path / "claims"
    publish("01_first", "1. First", [claim("gain"), claim("setup", "sanity")], directory=folder,
            columns={"papers' schedule": [claim("gain")], "GPU": None}, label="16 epochs")
    publish("02_second", "2. Second", [claim("other")], directory=folder)
    return folder


def test_the_ledger_draws_one_forest_plot_per_chapter_in_chapter_order(tmp_path, published):
    from lt_lab.book.ledger import write_forests

    written = write_forests(tmp_path / "page", published)
    assert [chapter["chapter"] for chapter, _ in written] == ["01_first", "02_second"]
    assert [image.name for _, image in written] == ["ledger_forest_01_first.png",
                                                     "ledger_forest_02_second.png"]
    assert all(image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for _, image in written)


def test_each_forest_plot_is_one_column_whose_smallest_text_is_readable(tmp_path, published):
    from lt_lab.book.ledger import write_forests

    for _, image in write_forests(tmp_path / "page", published):
        text_pt, width_in = figure_text(image)  # as the site check reads them from the PNG
        assert width_in == pytest.approx(6.4)  # one column, at most 7.5 in
        assert text_pt == 7
        assert text_px(text_pt, width_in) == pytest.approx(10.48, abs=0.01)
        assert text_px(text_pt, width_in) >= MIN_TEXT_PX


def test_each_forest_figure_is_numbered_captioned_and_described(published):
    from lt_lab.book.claims import load_published
    from lt_lab.book.ledger import forest_figure

    first, second = load_published(published)
    figure = forest_figure(first)
    assert figure.startswith("```{figure} ledger_forest_01_first.png\n")
    assert ":name: ledger-forest-01-first\n" in figure  # numbered by numfig, and referable
    assert ":figclass: forest-plot\n" in figure
    assert ":alt: forest plot of the claims of chapter 1. First: " in figure
    assert "The claims of [1. First](../chapters/01_first.ipynb), its sanity checks apart:" \
        in figure
    assert "The claims of [2. Second](../chapters/02_second.ipynb): " in forest_figure(second)


def test_the_forest_figures_are_stacked_under_the_summary(tmp_path, published):
    from lt_lab.book.ledger import FOREST_MARKER, fill_ledger

    page = tmp_path / "ledger.md"
    page.write_text(f"# Claims ledger\n\n{FOREST_MARKER}\n")
    fill_ledger(page, published, {"claims": {}}, lambda claim_id: None)
    text = page.read_text()
    assert text.count("```{figure}") == 2
    assert text.index("ledger_forest_01_first.png") < text.index("ledger_forest_02_second.png")
    assert sorted(path.name for path in tmp_path.glob("*.png")) == [
        "ledger_forest_01_first.png", "ledger_forest_02_second.png"]


def test_the_ledger_is_no_longer_excused_from_the_figure_text_check():
    from lt_lab.book.site import excused

    assert not excused("figure-text", "book/ledger.html")
