"""Pre-registration a reader can check: every chapter's declared claims agree with
``book/claims.lock.json``, a changed claim fails without a recorded amendment, and no frozen
verdict is *partly* with a mean of the wrong sign.

The declared claims are read from the chapters' ``claims`` cells (no chapter is run)."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import nbformat
import pytest

from lt_lab.book import lock
from lt_lab.book.claims import Claim
from lt_lab.book.freeze import CHECK_MARK
from lt_lab.book.paths import chapter_notebooks
from lt_lab.errors import ConfigError


@pytest.fixture(scope="module")
def declared():
    return lock.all_declared()


# --- the book's own claims -------------------------------------------------------------------


def test_every_declared_claim_agrees_with_the_lock(declared):
    problems = lock.check_lock(declared, lock.load_lock())
    assert not problems, "\n".join(problems)


def test_the_lock_hashes_what_it_says(declared):
    entries = lock.load_lock()["claims"]
    for claim_id, entry in entries.items():
        assert entry["hash"] == lock.fields_hash(entry["fields"]), claim_id
        assert set(entry["fields"]) - {"escalated"} == set(lock.HASHED_FIELDS), claim_id
        for amendment in entry["amendments"]:
            assert amendment["reason"] and amendment["date"] and amendment["changes"]
    # the 44 first claims, and 11 later ones whose runs were already stored (each with its note)
    assert sum(entry["declared_with_results"] for entry in entries.values()) == 55


def test_every_chapter_declares_claims(declared):
    chapters = {chapter for chapter, _ in declared.values()}
    assert chapters == {notebook.stem for notebook in chapter_notebooks()}


def frozen_verdicts(notebook) -> list[str]:
    """The verdict lines the chapter's frozen verdict cell printed, in every column of
    evidence (without the columns' headings and their "not yet run"). The confirmatory
    edition's frozen cell (`lt_lab.book.confirmatory`) judges other, declared claims: not
    read here."""
    from lt_lab.book.claims import NOT_YET_RUN

    cells = nbformat.read(notebook, as_version=4).cells
    outputs = [output for cell in cells if cell.cell_type == "code"
               and CHECK_MARK in cell.source and "print_verdicts" in cell.source
               for output in cell.outputs]
    lines = "".join(output.get("text", "") for output in outputs).splitlines()
    return [line for line in lines if not line.startswith("-- ") and line != NOT_YET_RUN]


LINE = re.compile(r"^(?P<id>\S+) +(?P<category>claim|sanity|descriptive) +(?P<verdict>"
                  r"reproduced|partly passes|partly|inconclusive|not reproduced|passes|fails|"
                  r"descriptive|not run|not applicable) +(?P<mean>-?[\d.]+|—)[ \[]")


@pytest.mark.parametrize("notebook", chapter_notebooks(), ids=lambda path: path.stem)
def test_no_frozen_verdict_is_partly_with_a_wrong_sign_mean(notebook, declared):
    lines = frozen_verdicts(notebook)
    assert lines and all(LINE.match(line) for line in lines), lines  # every line read
    for line in lines:
        found = LINE.match(line)
        _, claim = declared[found["id"]]
        assert found["category"] == claim.category, line
        if found["verdict"] in ("partly", "partly passes"):
            assert claim.signed(float(found["mean"])) > 0, line


# --- changing a claim -------------------------------------------------------------------------


def claim(**changes) -> Claim:
    fields = dict(id="gap", paper="p", statement="Imbalance lowers accuracy.",
                  reported="10 points [readme]", measure="balanced accuracy, points",
                  threshold=2.0, partly_threshold=0.0)
    return Claim(**{**fields, **changes})


def locked(*claims) -> dict:
    book_lock = lock.load_lock("/nonexistent/claims.lock.json")
    lock.update_lock({c.id: ("01_x", c) for c in claims}, book_lock, today="2026-11-30")
    return book_lock


def test_a_new_claim_is_locked_without_an_amendment():
    book_lock = locked(claim())
    entry = book_lock["claims"]["gap"]
    assert entry["hash"] == lock.claim_hash(claim()) and entry["amendments"] == []
    assert (entry["locked_on"], entry["chapter"], entry["declared_with_results"]) == (
        "2026-11-30", "01_x", False)
    assert lock.check_lock({"gap": ("01_x", claim())}, book_lock) == []


def test_changing_a_threshold_without_an_amendment_fails():
    book_lock = locked(claim())
    changed = {"gap": ("01_x", replace(claim(), threshold=1.0))}
    problems = lock.check_lock(changed, book_lock)
    assert len(problems) == 1
    assert "gap (01_x): changed without an amendment (threshold: 2.0 -> 1.0)" in problems[0]
    with pytest.raises(lock.LockError, match="--amend"):
        lock.update_lock(changed, book_lock)


def test_an_amendment_records_what_changed_why_and_when():
    book_lock = locked(claim())
    changed = {"gap": ("01_x", replace(claim(), threshold=1.0, category="sanity"))}
    update = lock.update_lock(changed, book_lock, amend="issue 15: categories",
                              today="2026-12-01", commit="abc1234")
    assert update.amended == ["gap"] and update.added == []
    entry = book_lock["claims"]["gap"]
    assert entry["amendments"] == [{
        "date": "2026-12-01", "after_commit": "abc1234", "reason": "issue 15: categories",
        "changes": {"category": ["claim", "sanity"], "threshold": [2.0, 1.0]},
        "hash": lock.claim_hash(changed["gap"][1]),
    }]
    assert lock.check_lock(changed, book_lock) == []


def test_rewording_the_reported_text_or_the_digits_does_not_trip_the_lock():
    book_lock = locked(claim())
    reworded = replace(claim(), reported="10.0 points, Table 2 [readme]", digits=3,
                       paper="other2020")
    assert lock.check_lock({"gap": ("01_x", reworded)}, book_lock) == []


def test_a_withdrawn_claim_needs_an_amendment():
    book_lock = locked(claim(), claim(id="tail"))
    remaining = {"gap": ("01_x", claim())}
    assert lock.check_lock(remaining, book_lock) == [
        "tail: locked but no chapter declares it; record its withdrawal with "
        "`lt-lab book lock --amend \"reason\"`"]
    with pytest.raises(lock.LockError):
        lock.update_lock(remaining, book_lock)
    update = lock.update_lock(remaining, book_lock, amend="merged into gap", today="2026-12-02")
    assert update.withdrawn == ["tail"]
    assert book_lock["claims"]["tail"]["withdrawn"] == {"date": "2026-12-02",
                                                        "reason": "merged into gap"}
    assert lock.check_lock(remaining, book_lock) == []


# --- reading the claims cells ------------------------------------------------------------------


def write_chapter(path, claims_source: str, earlier: str = "unit = 'years' if x else 'days'"):
    notebook = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell("x = 1  # a parameter\nratio = 100")
    parameters.metadata["tags"] = ["parameters"]
    claims_cell = nbformat.v4.new_code_cell(claims_source)
    claims_cell.metadata["tags"] = ["claims", "hide-input"]
    notebook.cells = [nbformat.v4.new_code_cell("%pip install nothing"), parameters,
                      nbformat.v4.new_code_cell(earlier),
                      nbformat.v4.new_code_cell("data = load_everything()  # never run"),
                      claims_cell]
    nbformat.write(notebook, path)
    return path


CLAIMS_SOURCE = '''declared = claims.declare(
    Claim(id="gap", paper="p", statement="s", reported="r",
          measure=f"error at ρ={ratio:g}, {unit}", threshold=2.0),
)
claims.claims_table(declared.values())  # a table: not executed by the reader'''


def test_declared_claims_reads_the_claims_cell_with_parameters_and_earlier_names(tmp_path):
    path = write_chapter(tmp_path / "01_x.ipynb", CLAIMS_SOURCE)
    (claim_read,) = lock.declared_claims(path)
    assert claim_read.id == "gap" and claim_read.measure == "error at ρ=100, years"


def test_declared_claims_names_what_it_cannot_define(tmp_path):
    path = write_chapter(tmp_path / "01_x.ipynb", CLAIMS_SOURCE, earlier="unit = data.unit")
    with pytest.raises(ConfigError, match="reads 'unit' \\(through unit -> data -> "
                                          "load_everything\\)"):
        lock.declared_claims(path)


def test_lock_command_writes_a_readable_lock(tmp_path):
    chapter = write_chapter(tmp_path / "01_x.ipynb", CLAIMS_SOURCE)
    path = tmp_path / "claims.lock.json"
    summary = lock.lock_command(path=path, notebooks=[chapter])
    assert summary.endswith("1 claims; added ['gap'], amended none, withdrawn none")
    text = path.read_text()
    assert "ρ=100" in text  # UTF-8, not escaped
    assert json.loads(text)["claims"]["gap"]["chapter"] == "01_x"
    assert lock.lock_command(path=path, notebooks=[chapter]).endswith(
        "added none, amended none, withdrawn none")


def test_declared_on_is_the_first_commit_with_the_id():
    found = lock.declared_on("imbalance-hurts")
    if found is None:
        pytest.skip("no git history here")
    assert re.fullmatch(r"[0-9a-f]{7,}", found["commit"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", found["date"])
    assert lock.declared_on("no-such-claim-id-anywhere") is None


def test_amendments_can_give_each_claim_its_own_reason():
    book_lock = locked(claim(), claim(id="tail"))
    changed = {"gap": ("01_x", replace(claim(), category="sanity")),
               "tail": ("01_x", replace(claim(id="tail"), margin=1.0))}
    with pytest.raises(lock.LockError, match="tail"):
        lock.update_lock(changed, book_lock, amend={"gap": "issue 15: categories"})
    lock.update_lock(changed, book_lock, amend={"gap": "issue 15: categories",
                                                "tail": "a claim of no effect"})
    reasons = {claim_id: entry["amendments"][0]["reason"]
               for claim_id, entry in book_lock["claims"].items()}
    assert reasons == {"gap": "issue 15: categories", "tail": "a claim of no effect"}


def test_escalating_a_claim_is_an_amendment_and_widens_only_its_quick_seeds():
    from dataclasses import replace

    from lt_lab.book.claims import Claim, verdict_seeds

    claim = Claim(id="x", paper="p", statement="s", reported="r", measure="m", threshold=1.0)
    declared = {"x": ("ch", claim)}
    the_lock = {"claims": {}}
    lock.update_lock(declared, the_lock, today="2026-11-30")
    escalated = replace(claim, escalated=True)
    assert lock.check_lock({"x": ("ch", escalated)}, the_lock)  # needs an amendment
    lock.update_lock({"x": ("ch", escalated)}, the_lock, amend="inconclusive at 3 seeds")
    assert the_lock["claims"]["x"]["amendments"][0]["changes"] == {"escalated": [None, True]}
    assert verdict_seeds(claim, [0, 1, 2], "quick") == [0, 1, 2]
    assert verdict_seeds(escalated, [0, 1, 2], "quick") == list(range(10))
    assert verdict_seeds(escalated, [0, 1, 2], "long") == [0, 1, 2]


def test_the_ledger_says_what_a_claim_declared_with_results_had_seen():
    from lt_lab.book.ledger import _declared_text

    entry = {"declared_with_results": True, "amendments": [],
             "with_results_note": "its runs (seeds 0-2) were in the store"}
    text = _declared_text("x", entry, lambda claim_id: {"date": "2026-11-30", "commit": "abc"})
    assert text == ("2026-11-30 (`abc`), declared with results (its runs (seeds 0-2) were in "
                    "the store)")
