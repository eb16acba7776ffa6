"""The forest plot's layout: as tall as its rows, its legend and its axis labels, no taller.

Heights in inches, from lt_lab.book.forest: a claim's row 0.4, a heading 0.4, a further column
of evidence 0.3 more, the axis labels under the last row 0.3; the legend, three entries a row
in one column, 0.17 a row plus 0.12 above and below.
"""

from __future__ import annotations

import pytest

from lt_lab.book.claims import Claim, check


def claim(claim_id: str, category: str = "claim") -> Claim:
    return check(Claim(id=claim_id, paper="cui2019class", statement="A statement.",
                       reported="1 point [U]", measure="a difference, points", threshold=1.0,
                       category=category), [1.0, 2.0, 3.0])


def texts(figure) -> list[str]:
    return [text.get_text() for text in figure.texts] + [
        text.get_text() for ax in figure.axes for text in ax.texts]


def test_a_plot_of_claims_alone_has_no_heading_and_is_as_tall_as_its_rows():
    import matplotlib.pyplot as plt

    from lt_lab.book.forest import forest_plot

    figure = forest_plot([claim("a"), claim("b")])
    # two rows 2 * 0.4 = 0.8; legend of 6 entries, 2 rows: 2 * 0.12 + 2 * 0.17 = 0.58;
    # axis labels 0.3: 1.68 in
    assert figure.get_size_inches()[1] == pytest.approx(1.68)
    assert "claims" not in texts(figure)
    plt.close(figure)


def test_sanity_checks_keep_both_headings_and_a_further_column_adds_its_rows():
    import matplotlib.pyplot as plt

    from lt_lab.book.forest import SANITY_HEADING, forest_plot

    figure = forest_plot([claim("a"), claim("s", "sanity")],
                         extra={"papers' schedule": [claim("a")]})
    # headings 2 * 0.4, rows 2 * 0.4, one further column under "a" 0.3: 1.9; legend of
    # 6 + 2 markers (this page's runs, papers' schedule), 3 rows: 0.24 + 0.51 = 0.75;
    # axis labels 0.3: 2.95 in
    assert figure.get_size_inches()[1] == pytest.approx(2.95)
    assert {"claims", SANITY_HEADING} <= set(texts(figure))
    plt.close(figure)


def test_two_columns_of_claims_alone_need_no_continued_heading():
    import matplotlib.pyplot as plt

    from lt_lab.book.forest import forest_plot

    figure = forest_plot([claim(f"c{i}") for i in range(4)], columns=2)
    assert len(figure.axes) == 4
    assert not any("continued" in text for text in texts(figure))
    plt.close(figure)
