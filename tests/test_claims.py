"""Claims: verdicts, the printed verdict table, publishing, and the book's claims ledger.

Every expected number below is worked out by hand in a comment; the running example is
values [1, 2, 3, 6]: mean 12/4 = 3, deviations -2, -1, 0, 3, squares 4 + 1 + 0 + 9 = 14,
sample variance 14/3, sample sd sqrt(14/3) = 2.16024689946...
"""

from __future__ import annotations

import json
import math

import pytest

from lt_lab.book.claims import (
    CLAIMS_ENV,
    Claim,
    check,
    claims_table,
    declare,
    load_published,
    print_verdicts,
    publish,
    verdict_lines,
)
from lt_lab.errors import ConfigError

VALUES = [1, 2, 3, 6]
SD = 2.1602468994692865  # sqrt(14/3)


def make(threshold: float = 2.0, **changes) -> Claim:
    fields = dict(
        id="gap", paper="cui2019", statement="Imbalance lowers accuracy",
        reported="10 points [readme]", measure="balanced minus imbalanced accuracy",
        threshold=threshold,
    )
    fields.update(changes)
    return Claim(**fields)


# --- check: verdicts -------------------------------------------------------------------


@pytest.mark.parametrize(
    "direction, threshold, partly, verdict",
    [
        # mean 3
        (">", 2.0, None, "reproduced"),  # 3 > 2
        (">", 4.0, 2.0, "partly"),  # 3 > 4 no, 3 > 2 yes
        (">", 4.0, 3.5, "not reproduced"),  # 3 > 4 no, 3 > 3.5 no
        (">", 4.0, None, "not reproduced"),  # no weaker threshold to fall back on
        ("<", 4.0, None, "reproduced"),  # 3 < 4
        ("<", 2.0, 3.5, "partly"),  # 3 < 2 no, 3 < 3.5 yes
        ("<", 2.0, 2.5, "not reproduced"),  # 3 < 2 no, 3 < 2.5 no
        ("<", 2.0, None, "not reproduced"),
    ],
)
def test_check_verdict_of_the_mean(direction, threshold, partly, verdict):
    checked = check(make(threshold, direction=direction, partly_threshold=partly), VALUES)
    assert checked.verdict == verdict
    assert checked.measured == pytest.approx(3.0)
    assert checked.spread == pytest.approx(SD)
    assert checked.n == 4
    assert checked.values == (1.0, 2.0, 3.0, 6.0)


@pytest.mark.parametrize(
    "direction, threshold, partly, verdict",
    [
        (">", 2.0, None, "not reproduced"),  # 2 > 2 is false
        ("<", 2.0, None, "not reproduced"),  # 2 < 2 is false
        (">", 3.0, 2.0, "not reproduced"),  # misses 3, and 2 > 2 is false: not partly
        ("<", 1.0, 2.0, "not reproduced"),  # misses 1, and 2 < 2 is false: not partly
        (">", 2.5, 1.5, "partly"),  # 2 > 1.5
        (">", 1.5, None, "reproduced"),  # 2 > 1.5
    ],
)
def test_check_value_equal_to_threshold_does_not_pass(direction, threshold, partly, verdict):
    # values [2, 2]: mean exactly 2.0, sd 0
    checked = check(make(threshold, direction=direction, partly_threshold=partly), [2, 2])
    assert checked.measured == 2.0
    assert checked.spread == 0.0
    assert checked.verdict == verdict


def test_check_mean_and_sample_sd():
    checked = check(make(), VALUES)
    assert checked.measured == pytest.approx(3.0)
    assert checked.spread == pytest.approx(SD, rel=1e-12)  # sample (n-1), not 1.5 (= sqrt(9/4))


def test_check_single_value_has_zero_spread():
    checked = check(make(4.0), [5])
    assert (checked.measured, checked.spread, checked.n, checked.verdict) == (
        5.0, 0.0, 1, "reproduced")


def test_check_drops_nan_and_none():
    # [1, nan, 3, None] -> [1, 3]: mean 2, sd sqrt(((1-2)^2 + (3-2)^2) / 1) = sqrt(2)
    checked = check(make(1.5), [1, math.nan, 3, None, float("nan")])
    assert checked.n == 2
    assert checked.values == (1.0, 3.0)
    assert checked.measured == pytest.approx(2.0)
    assert checked.spread == pytest.approx(1.4142135623730951)
    assert checked.verdict == "reproduced"


@pytest.mark.parametrize("values", [[], [math.nan], [None, math.nan, None]])
def test_check_without_measurement_is_not_run(values):
    checked = check(make(), values)
    assert checked.verdict == "not run at this profile"
    assert (checked.measured, checked.spread, checked.n, checked.values) == (None, None, 0, ())


def test_check_without_measurement_resets_an_earlier_measurement():
    checked = check(check(make(), VALUES), [])
    assert checked.verdict == "not run at this profile"
    assert (checked.measured, checked.spread, checked.n, checked.values) == (None, None, 0, ())


def test_check_returns_a_new_claim():
    claim = make()
    check(claim, VALUES)
    assert claim.verdict == "not run at this profile"
    assert claim.measured is None and claim.n == 0


@pytest.mark.parametrize(
    "direction, threshold, verdict",
    [
        (">", 2.0, "reproduced"),  # sd 2.16 > 2
        (">", 2.2, "not reproduced"),  # 2.16 > 2.2 no
        ("<", 3.0, "reproduced"),  # 2.16 < 3
        ("<", 1.0, "not reproduced"),
    ],
)
def test_check_statistic_sd_judges_the_sd(direction, threshold, verdict):
    checked = check(make(threshold, direction=direction), VALUES, statistic="sd")
    assert checked.measured == pytest.approx(SD)  # the sd, not the mean 3
    assert checked.spread is None
    assert checked.n == 4
    assert checked.verdict == verdict


def test_check_statistic_sd_partly():
    # sd 2.16: misses > 2.5, passes > 2
    checked = check(make(2.5, partly_threshold=2.0), VALUES, statistic="sd")
    assert checked.verdict == "partly"


@pytest.mark.parametrize("values", [[5], [5, math.nan], [None, 7.0]])
def test_check_statistic_sd_needs_two_values(values):
    checked = check(make(-1.0), values, statistic="sd")  # any sd would pass > -1
    assert checked.verdict == "not run at this profile"
    assert (checked.measured, checked.spread, checked.n) == (None, None, 0)


@pytest.mark.parametrize("values", [VALUES, []])
def test_check_unknown_statistic(values):
    with pytest.raises(ConfigError, match="statistic='median'"):
        check(make(), values, statistic="median")


@pytest.mark.parametrize("direction", [">=", "=", "greater", ""])
def test_unknown_direction(direction):
    with pytest.raises(ConfigError, match="direction="):
        make(direction=direction)


# --- verdict_lines / print_verdicts ----------------------------------------------------


def example_claims() -> list[Claim]:
    return [
        # mean 3.00, sd 2.16 at digits=2; 3 > 2
        check(make(2.0, digits=2), VALUES),
        # never measured
        make(0.5, id="tail", direction="<", unit="%"),
        # statistic="sd": 2.16 -> "2.2" at digits=1, no ±; 2.16 < 3
        check(make(3.0, id="seed-spread", direction="<"), VALUES, statistic="sd"),
    ]


# Columns: id padded to 28, verdict to 24, measured to 24, single spaces between.
#   "gap" (3) + 25 spaces; "reproduced" (10) + 14; "3.00 ± 2.16 (n=4)" (4+3+4+6 = 17) + 7
#   "tail" (4) + 24; "not run at this profile" (23) + 1; "—" (1) + 23
#   "seed-spread" (11) + 17; "reproduced" + 14; "2.2 (n=4)" (9) + 15
EXPECTED_LINES = [
    "gap" + " " * 25 + " " + "reproduced" + " " * 14 + " "
    + "3.00 ± 2.16 (n=4)" + " " * 7 + " (needs > 2 points)",
    "tail" + " " * 24 + " " + "not run at this profile" + " " * 1 + " "
    + "—" + " " * 23 + " (needs < 0.5 %)",
    "seed-spread" + " " * 17 + " " + "reproduced" + " " * 14 + " "
    + "2.2 (n=4)" + " " * 15 + " (needs < 3 points)",
]


def test_verdict_lines_exact_text():
    assert verdict_lines(example_claims()) == EXPECTED_LINES


def test_verdict_lines_empty():
    assert verdict_lines([]) == []


def test_print_verdicts(capsys):
    print_verdicts(example_claims())
    assert capsys.readouterr().out == "\n".join(EXPECTED_LINES) + "\n"


# --- claims_table ----------------------------------------------------------------------


def test_claims_table():
    table = claims_table(example_claims())
    assert table.index.name == "claim"
    assert list(table.index) == ["gap", "tail", "seed-spread"]
    assert list(table.columns) == [
        "paper", "statement", "paper reported", "how we measure", "threshold",
        "measured (mean ± sd)", "verdict",
    ]
    assert table.loc["gap"].to_dict() == {
        "paper": "cui2019",
        "statement": "Imbalance lowers accuracy",
        "paper reported": "10 points [readme]",
        "how we measure": "balanced minus imbalanced accuracy",
        "threshold": "> 2 points",
        "measured (mean ± sd)": "3.00 ± 2.16 (n=4)",
        "verdict": "reproduced",
    }
    assert table.loc["tail", "measured (mean ± sd)"] == "—"
    assert table.loc["tail", "threshold"] == "< 0.5 %"
    assert table.loc["tail", "verdict"] == "not run at this profile"
    assert table.loc["seed-spread", "measured (mean ± sd)"] == "2.2 (n=4)"


# --- publish / load_published ----------------------------------------------------------


def test_publish_without_directory_does_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv(CLAIMS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert publish("01_intro", "Intro", example_claims()) is None
    assert list(tmp_path.iterdir()) == []


def test_publish_into_directory(tmp_path, monkeypatch):
    monkeypatch.delenv(CLAIMS_ENV, raising=False)
    target = tmp_path / "claims"  # does not exist yet
    path = publish("01_intro", "Intro", example_claims()[:2], directory=target)
    assert path == target / "01_intro.json"
    assert [p.name for p in target.iterdir()] == ["01_intro.json"]  # no temporary left
    payload = json.loads(path.read_text())
    assert payload["chapter"] == "01_intro"
    assert payload["title"] == "Intro"
    gap, tail = payload["claims"]
    assert gap["id"] == "gap"
    assert gap["verdict"] == "reproduced"
    assert gap["measured"] == pytest.approx(3.0)
    assert gap["spread"] == pytest.approx(SD)
    assert gap["n"] == 4
    assert gap["values"] == [1.0, 2.0, 3.0, 6.0]
    assert gap["digits"] == 2
    assert (gap["threshold"], gap["direction"], gap["unit"]) == (2.0, ">", "points")
    assert tail["measured"] is None and tail["spread"] is None
    assert tail["verdict"] == "not run at this profile"


def test_publish_into_env_directory(tmp_path, monkeypatch):
    monkeypatch.setenv(CLAIMS_ENV, str(tmp_path / "env"))
    path = publish("02_losses", "Losses", example_claims())
    assert path == tmp_path / "env" / "02_losses.json"
    assert json.loads(path.read_text())["title"] == "Losses"


def test_publish_directory_argument_wins_over_env(tmp_path, monkeypatch):
    monkeypatch.setenv(CLAIMS_ENV, str(tmp_path / "env"))
    path = publish("02_losses", "Losses", example_claims(), directory=tmp_path / "arg")
    assert path == tmp_path / "arg" / "02_losses.json"
    assert not (tmp_path / "env").exists()


def test_publish_replaces_and_is_atomic(tmp_path, monkeypatch):
    publish("01_intro", "First", [], directory=tmp_path)
    publish("01_intro", "Second", [], directory=tmp_path)
    assert json.loads((tmp_path / "01_intro.json").read_text())["title"] == "Second"

    def broken_dump(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("lt_lab.results.json.dump", broken_dump)
    with pytest.raises(OSError, match="disk full"):
        publish("01_intro", "Third", [], directory=tmp_path)
    # the old file is untouched and no half-written temporary is left beside it
    assert [p.name for p in tmp_path.iterdir()] == ["01_intro.json"]
    assert json.loads((tmp_path / "01_intro.json").read_text())["title"] == "Second"


def test_load_published_in_chapter_order(tmp_path):
    for chapter in ("10_last", "02_middle", "01_first"):
        publish(chapter, chapter.upper(), [make()], directory=tmp_path)
    (tmp_path / "notes.txt").write_text("not a chapter")
    chapters = load_published(tmp_path)
    assert [c["chapter"] for c in chapters] == ["01_first", "02_middle", "10_last"]
    assert [c["title"] for c in chapters] == ["01_FIRST", "02_MIDDLE", "10_LAST"]
    assert chapters[0]["claims"][0]["id"] == "gap"


def test_load_published_empty(tmp_path):
    assert load_published(tmp_path) == []


# --- lt_lab.book.render_ledger ---------------------------------------------------------


def test_render_ledger_without_claims(tmp_path):
    from lt_lab.book import render_ledger

    assert render_ledger(tmp_path / "missing") == "*No chapter has published claims yet.*"
    assert render_ledger(tmp_path) == "*No chapter has published claims yet.*"


HEADER = "| claim | paper | statement | paper reported | measured here | verdict |"


def test_render_ledger_one_chapter(tmp_path):
    from lt_lab.book import render_ledger

    claims = [
        check(make(2.0), VALUES),  # 3.0 ± 2.2 at digits=1, reproduced
        make(0.5, id="tail", direction="<", unit="%"),
        check(make(3.0, id="seed-spread", direction="<"), VALUES, statistic="sd"),
    ]
    publish("03_reweighting", "Reweighting", claims, directory=tmp_path)
    lines = render_ledger(tmp_path).split("\n")
    assert lines[:4] == [
        "## [Reweighting](../chapters/03_reweighting.ipynb)",
        "",
        HEADER,
        "|---|---|---|---|---|---|",
    ]
    rows = lines[4:7]
    row = "| gap | {cite}`cui2019` | Imbalance lowers accuracy | 10 points [readme] | "
    assert rows[0].startswith(row + "3.0 ± 2.2 points (n=4; needs > 2")
    assert rows[0].endswith(" | **reproduced** |")
    assert rows[1] == ("| tail | {cite}`cui2019` | Imbalance lowers accuracy | "
                       "10 points [readme] | — | **not run at this profile** |")
    assert rows[2].startswith("| seed-spread | {cite}`cui2019` | ")
    assert "| 2.2 points (n=4; needs < 3" in rows[2]  # statistic="sd": no ±
    assert rows[2].endswith(" | **reproduced** |")
    assert lines[7:] == [""]


def test_render_ledger_target_names_its_unit(tmp_path):
    from lt_lab.book import render_ledger

    publish("03_reweighting", "Reweighting", [check(make(2.0), VALUES)], directory=tmp_path)
    assert render_ledger(tmp_path) == "\n".join([
        "## [Reweighting](../chapters/03_reweighting.ipynb)",
        "",
        HEADER,
        "|---|---|---|---|---|---|",
        "| gap | {cite}`cui2019` | Imbalance lowers accuracy | 10 points [readme] | "
        "3.0 ± 2.2 points (n=4; needs > 2 points) | **reproduced** |",
        "",
    ])


def test_render_ledger_chapters_in_order(tmp_path):
    from lt_lab.book import render_ledger

    publish("05_later", "Later", [make()], directory=tmp_path)
    publish("01_earlier", "Earlier", [make()], directory=tmp_path)
    text = render_ledger(tmp_path)
    assert text.index("../chapters/01_earlier.ipynb") < text.index("../chapters/05_later.ipynb")
    assert text.count(HEADER) == 2


def test_render_summary_counts_each_verdict_per_chapter_and_in_total(tmp_path):
    from lt_lab.book import render_summary

    assert render_summary(tmp_path / "missing") == ""
    publish("01_earlier", "Earlier", [check(make(2.0), VALUES), make(id="other")],
            directory=tmp_path)
    publish("02_later", "Later", [check(make(9.0), VALUES)], directory=tmp_path)
    lines = render_summary(tmp_path).strip().split("\n")
    assert lines[0] == ("| chapter | claims | reproduced | partly | not reproduced | "
                        "not run at this profile |")
    assert lines[2] == "| [Earlier](../chapters/01_earlier.ipynb) | 2 | 1 | 0 | 0 | 1 |"
    assert lines[3] == "| [Later](../chapters/02_later.ipynb) | 1 | 0 | 0 | 1 | 0 |"
    assert lines[4] == "| **all chapters** | **3** | **1** | **0** | **1** | **1** |"


def test_render_summary_without_claims_is_empty(tmp_path):
    from lt_lab.book import render_summary

    assert render_summary(tmp_path) == ""


def test_fill_ledger_replaces_both_markers(tmp_path):
    from lt_lab.book.ledger import LEDGER_MARKER, SUMMARY_MARKER, fill_ledger

    page = tmp_path / "ledger.md"
    page.write_text(f"# Claims ledger\n\n{SUMMARY_MARKER}\n\n{LEDGER_MARKER}\n")
    publish("01_first", "First", [check(make(2.0), VALUES)], directory=tmp_path / "claims")
    fill_ledger(page, tmp_path / "claims")
    text = page.read_text()
    assert SUMMARY_MARKER not in text and LEDGER_MARKER not in text
    assert text.index("| **all chapters** | **1** |") < text.index("## [First]")


# --- declare -------------------------------------------------------------------------------


def test_declare_returns_the_claims_by_id_in_order():
    declared = declare(make(), make(id="tail"))
    assert list(declared) == ["gap", "tail"] and declared["tail"].id == "tail"


def test_declare_refuses_an_id_twice():
    with pytest.raises(ValueError, match="'gap' is declared twice"):
        declare(make(), make(threshold=3.0))
