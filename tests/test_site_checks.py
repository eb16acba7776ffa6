"""The site check reads each page as a reader does: cut claim text, raw BibTeX keys, a verdict
column off screen, figures without caption or alt text, chapters too long to read.

The findings are computed from what Chromium measured (:mod:`lt_lab.book.readability`); the
last test measures two small pages in headless Chromium itself."""

from __future__ import annotations

import shutil
import struct
import zlib

import pytest

from lt_lab.book import readability
from lt_lab.book.site import SiteReport, excused

KEYS = {"cui2019class", "cao2019learning"}


def table(cells, verdict=None, classes="claims-table", heads=("verdict", "claim")):
    return {"classes": classes, "heads": list(heads), "cells": list(cells), "verdict": verdict}


def measured(tables=(), images=(), prose="", scroll_height=8000):
    return {"width": 1280, "height": 800, "scrollHeight": scroll_height,
            "tables": list(tables), "images": list(images), "prose": prose}


def tiny_png(width, height):
    """A grey PNG of ``width`` × ``height`` pixels, written by hand."""
    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    rows = b"".join(b"\0" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def checks(page, by_width):
    return [check for check, _ in readability.problems(page, by_width, KEYS)]


def test_a_readable_page_has_no_findings():
    shown = table(["reproduced", "gap", "Cui et al., 2019", "Imbalance lowers accuracy"],
                  verdict={"left": 0, "right": 120, "width": 120})
    figure = {"src": "../_images/a.png", "alt": "accuracy against class size",
              "caption": "Fig. 1 Accuracy falls with class size.", "shown": 690,
              "text_pt": 10, "width_in": 6.4}
    page = measured([shown], [figure], prose="as Cui et al. showed")
    assert readability.problems("chapters/00_a.html", {1280: page, 390: page}, KEYS) == []


def test_a_cell_cut_short_is_found_but_a_leading_ellipsis_is_not():
    cut = table(["Class imbalance lowers accuracy on a balanced ...", "fine…", "…continued"])
    (finding,) = readability.ellipsis("p.html", [cut])
    assert finding == ("p.html: 2 cell(s) of its tables cut short, e.g. "
                       "'Class imbalance lowers accuracy on a balanced ...'")
    assert readability.ellipsis("p.html", [table(["…with lengths that grow"])]) == []
    # any table, not only a claim table: pandas cut "IMDB-WIKI-DIR, balanced MAE (Balanced
    # MSE READ..." in a table of reported numbers
    runs = table(["IMDB-WIKI-DIR, balanced MAE (Balanced MSE READ..."], classes="dataframe",
                 heads=("method", "benchmark (source)"))
    assert len(readability.ellipsis("p.html", [runs])) == 1


def test_the_book_style_lets_pandas_show_every_cell_whole():
    import pandas as pd

    from lt_lab import figures

    text = "IMDB-WIKI-DIR, balanced MAE (Balanced MSE README, two stages)"
    with pd.option_context("display.max_colwidth", 50):
        frame = pd.DataFrame({"benchmark": [text]})
        assert "READ..." in frame._repr_html_()  # what a notebook displays
        figures.use_book_style()
        assert text in frame._repr_html_() and text in repr(frame)


def test_pandas_tables_of_claims_count_as_claim_tables():
    assert readability.is_claim_table(table([], classes="dataframe", heads=["paper", "verdict"]))
    assert readability.is_claim_table(table([], classes="", heads=["statement"]))
    assert not readability.is_claim_table(table([], classes="dataframe", heads=["ρ", "seed"]))


def test_raw_keys_in_claim_tables_or_prose_are_found():
    page = measured([table(["cui2019class", "cao2019learning-like"])],
                    prose="see cao2019learning.")
    (finding,) = readability.raw_keys("p.html", page, KEYS)
    assert "cao2019learning, cui2019class" in finding
    # a key inside a longer word or id is not shown as a key
    assert readability.raw_keys("p.html", measured(prose="xcui2019class-2"), KEYS) == []


def test_a_verdict_column_off_screen_is_found_at_its_width():
    far = table(["x"], verdict={"left": 626, "right": 720, "width": 94})
    near = table(["x"], verdict={"left": 10, "right": 104, "width": 94})
    declared = table(["x"], verdict=None)  # no verdict column yet: nothing to see
    assert readability.verdict_visible("p.html", 1280, [far, near, declared]) == []
    assert readability.verdict_visible("p.html", 390, [near, far, declared]) == [
        "p.html: the verdict column of claim table 2 is off screen at 390 px (its header "
        "spans 626 to 720 px)"]


def test_figures_need_a_caption_and_an_alt_text_that_is_not_a_file_name():
    good = {"src": "a.png", "alt": "forest plot of the claims", "caption": "Fig. 1 ..."}
    hashed = {"src": "../_images/80dadfe11172a55a1749922b.png",
              "alt": "../_images/80dadfe11172a55a1749922b.png", "caption": "Fig. 2"}
    bare = {"src": "b.png", "alt": "a figure", "caption": ""}
    assert readability.figure_captions("p.html", [good]) == []
    (finding,) = readability.figure_captions("p.html", [good, hashed, bare])
    assert finding.startswith("p.html: 2 of 3 figures lack a caption or an alt text")
    assert "80dadfe11172a55a" in finding and "b.png" in finding


def test_a_chapter_over_15_screens_is_too_long_but_the_ledger_may_be():
    # 12,001 px at 800 px a screen: 15.0 screens and one pixel
    assert readability.page_length("chapters/04_x.html", measured(scroll_height=12001)) == [
        "chapters/04_x.html: 15.0 screens long at 1280×800 (at most 15)"]
    assert readability.page_length("chapters/04_x.html", measured(scroll_height=12000)) == []
    assert readability.page_length("book/ledger.html", measured(scroll_height=40000)) == []


def test_findings_are_named_by_their_check_and_an_unmeasured_page_is_one():
    page = measured([table(["cut ..."], verdict={"left": 500, "right": 600, "width": 100})],
                    [{"src": "a.png", "alt": "", "caption": ""}], scroll_height=20000)
    assert checks("chapters/00_a.html", {1280: page, 390: page}) == [
        "verdict-visible", "ellipsis", "figure-caption", "page-length", "figure-text"]
    assert checks("book/intro.html", {1280: {}, 390: measured()}) == ["measured"]
    assert set(readability.CHECKS) >= {"ellipsis", "raw-key", "verdict-visible",
                                       "figure-caption", "page-length", "figure-text"}


def test_known_exceptions_are_reported_without_failing():
    exceptions = {"page-length": ("chapters/*",)}
    assert excused("page-length", "chapters/04_x.html", exceptions)
    assert not excused("page-length", "book/ledger.html", exceptions)
    assert not excused("ellipsis", "chapters/04_x.html", exceptions)
    report = SiteReport(problems=[], excused=["chapters/04_x.html: 23.0 screens"])
    assert not report and list(report) == []  # what the CLI fails on: problems only


CHROMIUM = shutil.which("chromium")
WIDE_TABLE = ("<table class='claims-table'><thead><tr>" + "<th>claim text</th>" * 8
              + "<th>verdict</th></tr></thead><tbody><tr>" + "<td>a long statement</td>" * 8
              + "<td>reproduced</td></tr></tbody></table>")
VERDICT_FIRST = WIDE_TABLE.replace("<th>verdict</th>", "").replace(
    "<tr><th>", "<tr><th>verdict</th><th>", 1)
PAGE = ("<!doctype html><html><head><meta name='viewport' content='width=device-width'></head>"
        "<body><article><p>see cui2019class</p><div style='overflow-x:auto'>{table}</div>"
        "<figure><img src='x.png' alt='x.png'></figure></article></body></html>")


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium")
def test_chromium_measures_the_verdict_column_at_390_and_1280_px(tmp_path):
    from lt_lab.book.site import measure_page

    found = {}
    for name, markup in (("last", WIDE_TABLE), ("first", VERDICT_FIRST)):
        path = tmp_path / f"{name}.html"
        path.write_text(PAGE.format(table=markup))
        by_width = {width: measure_page(CHROMIUM, path, width, tmp_path / f"{name}-{width}.png")
                    for width in (1280, 390)}
        assert by_width[390]["width"] == 390 and by_width[1280]["width"] == 1280
        found[name] = readability.problems(f"chapters/{name}.html", by_width, KEYS)
        assert (tmp_path / f"{name}-390.png").exists()
    last = [message for check, message in found["last"] if check == "verdict-visible"]
    assert len(last) == 1 and "at 390 px" in last[0]  # 9 columns fit in 1280, not in 390
    assert "verdict-visible" not in [check for check, _ in found["first"]]
    assert {"raw-key", "figure-caption"} <= {check for check, _ in found["first"]}


def test_figure_text_under_9_px_at_the_width_shown_is_found():
    # 10 pt in a 17.1 in figure shown 690 px wide: 5.6 px; 10 pt in 6.4 in: 15.0 px
    wide = {"src": "../_images/abc.png", "text_pt": 10, "width_in": 17.1, "shown": 690}
    fine = {"src": "../_images/def.png", "text_pt": 10, "width_in": 6.4, "shown": 690}
    assert readability.figure_text("p.html", [fine]) == []
    (finding,) = readability.figure_text("p.html", [fine, wide])
    assert finding.startswith("p.html: 1 of 2 figures have text under 9 px (smallest 5.6 px: "
                              "10 pt in a figure 17.1 in wide shown 690 px, abc.png)")


def test_a_figure_in_a_closed_dropdown_counts_at_its_own_width_up_to_the_column():
    # measured 0 px wide (hidden): a 5 in figure of 750 px counts at the column's 690 px,
    # 6.5 pt → 12.5 px; at 300 px natural width, 300 px: 6.5 pt·300/(72·5) = 5.4 px
    hidden = {"src": "a.png", "text_pt": 6.5, "width_in": 5.0, "shown": 0, "natural_px": 750}
    assert readability.shown_text_px(hidden) == pytest.approx(6.5 * 690 / 360)
    assert readability.shown_text_px({**hidden, "natural_px": 300}) == pytest.approx(5.42,
                                                                                     abs=0.01)


def test_a_figure_that_does_not_record_its_text_size_is_a_figure_text_finding():
    page = measured(images=[{"src": "../_images/0123456789abcdef99.png", "alt": "a plot",
                             "caption": "Fig. 1"}])
    found = readability.problems("chapters/00_a.html", {1280: page, 390: page}, KEYS)
    assert [check for check, _ in found] == ["figure-text"]
    assert "1 of 1 figures do not record their text size" in found[0][1]


def test_image_facts_read_the_png_beside_the_page(tmp_path):
    from lt_lab.book.figure_text import TEXT_SIZE_KEY, WIDTH_KEY, with_png_text
    from lt_lab.book.site import image_facts

    (tmp_path / "_images").mkdir()
    (tmp_path / "chapters").mkdir()  # the page's folder
    (tmp_path / "_images" / "a.png").write_bytes(
        with_png_text(tiny_png(20, 10), {TEXT_SIZE_KEY: "9", WIDTH_KEY: "4.000"}))
    assert image_facts(tmp_path / "chapters", "../_images/a.png") == {
        "natural_px": 20, "text_pt": 9.0, "width_in": 4.0}
    assert image_facts(tmp_path / "chapters", "https://example.org/a.png") == {}
    assert image_facts(tmp_path / "chapters", "../_images/none.png") == {}
