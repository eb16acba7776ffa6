"""A figure's smallest text on the page: f pt in a figure w inches wide, shown s px wide, is
f·s/(72 w) px — the site check's ``figure-text`` reads f and w from the PNG's text chunks,
which the book's theme writes when a notebook displays a figure."""

from __future__ import annotations

import io

import pytest

from lt_lab.book import figure_text
from lt_lab.book.figure_text import TEXT_SIZE_KEY, WIDTH_KEY


def tiny_png() -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=(1, 0.5), dpi=20)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=20)  # not the book style's savefig.dpi
    plt.close(figure)
    return buffer.getvalue()


def test_ten_point_text_in_a_figure_as_wide_as_the_column_is_ten_pixels():
    # 690 px / 9.583 in = 72 px an inch: one point is one pixel
    assert figure_text.text_px(10, 690 / 72) == pytest.approx(10)


def test_a_wide_figure_shrunk_into_the_column_has_small_text():
    # chapter 2's four-panel toy: 17.1 in wide, 10 pt ticks, 690 px: 5.6 px, under 9
    assert figure_text.text_px(10, 17.1) == pytest.approx(10 * 690 / (72 * 17.1))
    assert figure_text.text_px(10, 17.1) < figure_text.MIN_TEXT_PX
    # the same text in a figure shown at its own 480 px (4.8 in at 100 dpi): 10 pt = 13.9 px
    assert figure_text.text_px(10, 4.8, shown_px=480) == pytest.approx(13.89, abs=0.01)


def test_text_chunks_written_into_a_png_read_back_and_leave_its_size():
    png = tiny_png()
    marked = figure_text.with_png_text(png, {TEXT_SIZE_KEY: "7.5", WIDTH_KEY: "6.400"})
    assert figure_text.png_text(marked)[TEXT_SIZE_KEY] == "7.5"
    assert figure_text.png_size(marked) == figure_text.png_size(png) == (20, 10)


def test_a_png_without_the_chunks_or_a_file_that_is_no_png_says_nothing(tmp_path):
    plain, marked, text = tmp_path / "plain.png", tmp_path / "marked.png", tmp_path / "a.svg"
    plain.write_bytes(tiny_png())
    marked.write_bytes(figure_text.with_png_text(tiny_png(), {TEXT_SIZE_KEY: "8",
                                                              WIDTH_KEY: "12.5"}))
    text.write_text("<svg/>")
    assert figure_text.figure_text(plain) is None
    assert figure_text.figure_text(text) is None
    assert figure_text.figure_text(tmp_path / "missing.png") is None
    assert figure_text.figure_text(marked) == (8.0, 12.5)


def _figures_hook(name: str):
    from lt_lab import figures

    if not hasattr(figures, name):
        pytest.skip(f"lt_lab.figures.{name} not added yet (/work/helpers/figures_requests.md)")
    return getattr(figures, name)


def _figure_with_small_ticks():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(6.4, 4), dpi=100)
    ax.plot([1, 2])
    ax.set_title("title", fontsize=14)
    ax.tick_params(labelsize=7)
    hidden = figure.add_axes([0.5, 0.5, 0.1, 0.1])
    hidden.axis("off")
    hidden.tick_params(labelsize=3)  # never drawn: must not count
    return figure


def test_the_book_theme_writes_the_text_size_into_a_displayed_png():
    import matplotlib.pyplot as plt

    png_with_text_size = _figures_hook("png_with_text_size")
    figure = _figure_with_small_ticks()
    png = png_with_text_size(figure)
    plt.close(figure)
    text = figure_text.png_text(png)
    assert float(text[TEXT_SIZE_KEY]) == 7
    # the tight box the notebook shows: its pixels at the figure's dpi
    assert float(text[WIDTH_KEY]) == pytest.approx(figure_text.png_size(png)[0] / 100, abs=1e-3)


def test_a_saved_figure_carries_its_text_size(tmp_path):
    import matplotlib.pyplot as plt

    save_with_text_size = _figures_hook("save_with_text_size")
    figure = _figure_with_small_ticks()
    save_with_text_size(figure, tmp_path / "f.png", dpi=110)
    plt.close(figure)
    assert figure_text.figure_text(tmp_path / "f.png") == (7.0, 6.4)
