"""Comparing a fresh result with a stored record (``lt_lab.reproduce``): exactly on the same
hardware identity, within a stated tolerance on another, and always saying which.

Both paths run on every machine: the exact path against records made here, in this test;
the foreign path by giving this process another CPU's identity (monkeypatched), and against
the stored records of ``data/results/`` in ``test_long_retrain.py`` and ``test_chapters.py``.
"""

from __future__ import annotations

import ast
import copy
import json
import re
from pathlib import Path

import pytest
from fixtures_synthetic import synthetic_fashion_mnist  # noqa: F401

from lt_lab import provenance
from lt_lab.config import make_config
from lt_lab.errors import ConfigError
from lt_lab.reproduce import EXACT, TOLERANCE, compare, describe, identity, missing_parts
from lt_lab.train import fit

HERE = {"type": "cpu", "model": "AMD EPYC", "cpu": "AuthenticAMD family 25 model 1 stepping 1",
        "isa": ["avx2", "fma"], "threads": 2}
XEON = {"type": "cpu", "model": "Intel(R) Xeon(R) Processor",
        "cpu": "GenuineIntel family 6 model 143 stepping 8",
        "isa": ["avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"], "threads": 2}


def record(hardware=HERE, torch="2.13.0+cpu", precision="bf16", acc=0.5, losses=(2.0, 1.0)):
    return {"hardware": hardware, "versions": {"torch": torch}, "precision": precision,
            "metrics": {"acc": acc}, "curves": {"train_loss": list(losses)}}


FIELDS = {"metrics.acc": 0.01, "curves.train_loss": 1e-3}


# -- the identity ----------------------------------------------------------------------------


def test_the_identity_is_the_device_the_torch_version_and_the_precision():
    assert identity(record()) == {"hardware": HERE, "torch": "2.13.0+cpu", "precision": "bf16"}
    assert describe(identity(record())) == ("cpu AMD EPYC (AuthenticAMD family 25 model 1 "
                                            "stepping 1) avx2+fma, 2 threads, torch "
                                            "2.13.0+cpu, bf16")


def test_a_record_without_the_cpu_numbers_has_an_incomplete_identity():
    old = {key: value for key, value in XEON.items() if key != "cpu"}  # records before today
    assert missing_parts(identity(record(hardware=old))) == ["hardware.cpu"]
    assert missing_parts(identity(record(hardware=None))) == ["hardware"]
    assert missing_parts(identity(record())) == []


def test_a_cpu_is_named_by_its_vendor_family_model_and_stepping_numbers():
    cpuinfo = ("processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 143\n"
               "model name\t: Intel(R) Xeon(R) Processor\nstepping\t: 8\n"
               "flags\t\t: fpu avx2 fma avx512f amx_bf16 amx_tile\n\n"
               "processor\t: 1\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 143\n")
    assert provenance._cpuinfo(cpuinfo) == (
        "Intel(R) Xeon(R) Processor", ["avx2", "fma", "avx512f", "amx_bf16", "amx_tile"],
        "GenuineIntel family 6 model 143 stepping 8")
    assert provenance._cpuinfo("processor : 0\nFeatures : fp asimd\n")[1:] == (["asimd"], "")


def test_this_machine_states_its_cpu_numbers_in_every_record(made_here):
    _, stored = made_here
    assert set(stored["hardware"]) == {"type", "model", "cpu", "isa", "threads"}


# -- the two paths, on records worked by hand ----------------------------------------------


def test_the_same_identity_compares_exactly_and_the_last_digit_counts():
    same = compare(record(), record(), FIELDS)
    assert same.ok and same.mode == EXACT and "the same hardware identity" in same.report()
    off = compare(record(), record(losses=(2.0, 1.000001)), FIELDS)
    assert not off.ok and off.mode == EXACT
    assert off.failures == ("curves.train_loss: 1e-06 > 0 (stored [2.0, 1.0], fresh "
                            "[2.0, 1.000001])",)


@pytest.mark.parametrize("change, part", [
    (dict(hardware=XEON), "hardware.cpu, hardware.isa, hardware.model"),
    (dict(hardware={**HERE, "threads": 1}), "hardware.threads"),
    (dict(torch="2.14.1+cpu"), "torch"),
    (dict(precision="fp32"), "precision"),
])
def test_another_identity_compares_within_tolerance_and_names_the_difference(change, part):
    fresh = record(**change, acc=0.5 + 0.009, losses=(2.0 + 9e-4, 1.0))
    comparison = compare(record(), fresh, FIELDS)
    assert comparison.ok and comparison.mode == TOLERANCE
    assert f"the identities differ in {part}" in comparison.report()
    assert comparison.largest == pytest.approx({"metrics.acc": 0.009,
                                                "curves.train_loss": 9e-4})


def test_a_tolerance_still_fails_beyond_its_bound():
    comparison = compare(record(), record(hardware=XEON, acc=0.5 + 0.011), FIELDS)
    assert comparison.mode == TOLERANCE and not comparison.ok
    assert comparison.failures == ("metrics.acc: 0.011 > 0.01 (stored [0.5], fresh "
                                   "[0.511])",)


def test_an_old_record_is_compared_within_tolerance_even_on_its_own_machine():
    old = {key: value for key, value in XEON.items() if key != "cpu"}
    comparison = compare(record(hardware=old), record(hardware=XEON), FIELDS)
    assert comparison.mode == TOLERANCE
    assert "the stored identity lacks hardware.cpu" in comparison.why


def test_a_missing_or_reshaped_field_is_a_difference_not_a_crash():
    shorter = record(losses=(2.0,))
    assert compare(record(), shorter, FIELDS).failures == (
        "curves.train_loss: 2 stored values against 1 fresh",)
    nothing = {key: value for key, value in record().items() if key != "metrics"}
    (failure,) = compare(record(), nothing, FIELDS).failures
    assert failure.startswith("metrics.acc: absent from one side")
    assert compare(record(acc=float("nan")), record(acc=float("nan")), FIELDS).ok
    assert not compare(record(acc=None), record(acc=0.5), FIELDS).ok


@pytest.mark.parametrize("tolerances", [{}, {"metrics.acc": -1}, {"metrics.acc": "0.1"},
                                        {"metrics.acc": float("nan")}])
def test_tolerances_must_be_given_and_non_negative(tolerances):
    with pytest.raises(ConfigError, match="tolerance >= 0"):
        compare(record(), record(), tolerances)


# -- the two paths, on runs trained here ---------------------------------------------------

TINY = dict(n_max=30, imbalance_ratio=10.0, test_per_class=10, batch_size=16, epochs=2,
            device="cpu")
TRAINED = {"metrics.acc": 0.05, "metrics.balanced_acc": 0.05, "curves.train_loss": 1e-3}


@pytest.fixture
def made_here(synthetic_fashion_mnist, store):  # noqa: F811
    config = make_config("smoke", **TINY)
    return config, fit(config, store=store, progress=False).record


@pytest.mark.slow
def test_a_run_retrained_on_this_machine_matches_its_record_exactly(made_here):
    config, stored = made_here
    again = fit(config, cache=False, save=False, progress=False).record
    comparison = compare(stored, again, TRAINED)
    assert comparison.mode == EXACT and comparison.ok, comparison.report()
    # A real change is caught: lr × 1.01, and another seed.
    for changed in (config.replace(lr=config.lr * 1.01), config.replace(seed=1)):
        other = fit(changed, cache=False, save=False, progress=False).record
        assert not compare(stored, other, TRAINED).ok


@pytest.mark.slow
def test_a_run_on_another_identity_is_compared_within_tolerance(made_here, monkeypatch):
    config, stored = made_here
    monkeypatch.setattr(provenance, "_cpuinfo", lambda: (XEON["model"], XEON["isa"],
                                                         XEON["cpu"]))
    again = fit(config, cache=False, save=False, progress=False).record
    assert again["hardware"]["model"] == XEON["model"]
    comparison = compare(stored, again, TRAINED)
    assert comparison.mode == TOLERANCE and comparison.ok, comparison.report()
    assert "hardware.cpu, hardware.isa, hardware.model" in comparison.why
    other = fit(config.replace(lr=config.lr * 1.01), cache=False, save=False,
                progress=False).record
    assert not compare(stored, other, {"curves.train_loss": 1e-4}).ok


# -- the foreign path against a stored record -----------------------------------------------

STORED_UFM = "09d23803c46f3429"  # chapter 4's simulator, CE, R=100, seed 0 (a 0.3 s solve)
UFM_FIELDS = {f"metrics.{name}": 1e-7 for name in ("objective", "minority_cosine",
                                                   "equinorm_classifier")}


def test_a_stored_record_is_compared_within_tolerance_from_a_foreign_machine(monkeypatch):
    from lt_lab.book.paths import ROOT
    from lt_lab.collapse import run_ufm
    from lt_lab.config import config_from_dict

    stored = json.loads((ROOT / "data" / "results" / f"{STORED_UFM}.json").read_text())
    monkeypatch.setattr(provenance, "_cpuinfo", lambda: ("Imaginary CPU", ["sve"],
                                                         "Nobody family 1 model 2 stepping 3"))
    config = config_from_dict(stored["config"], "ufm")
    comparison = compare(stored, run_ufm(config, cache=False, save=False), UFM_FIELDS)
    assert comparison.mode == TOLERANCE and comparison.ok, comparison.report()
    assert "cpu Imaginary CPU (Nobody family 1 model 2 stepping 3) sve" in comparison.why
    other = run_ufm(config.replace(seed=config.seed + 1), cache=False, save=False)
    assert not compare(stored, other, UFM_FIELDS).ok


# -- the guard -----------------------------------------------------------------------------

TESTS = Path(__file__).resolve().parent
REPOSITORY_STORE = re.compile(r"""["']data["']\s*/\s*["']results["']|data/results""")
TRAINS = {"fit", "run", "run_grid", "fit_regression", "run_ufm", "_retrain", "first_epochs",
          "first_epochs_record"}


def _calls(tree: ast.AST) -> set[str]:
    return {node.func.id if isinstance(node.func, ast.Name) else node.func.attr
            for node in ast.walk(tree) if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name | ast.Attribute)}


def compares_with_the_store_unaided(source: str) -> bool:
    """Whether a test module reads ``data/results/`` and trains, yet does not compare through
    :func:`lt_lab.reproduce.compare`: a comparison with stored numbers that could pass on
    one CPU only."""
    if not REPOSITORY_STORE.search(source):
        return False
    calls = _calls(ast.parse(source))
    return bool(calls & TRAINS) and "compare" not in calls


def test_the_guard_flags_a_test_that_compares_stored_numbers_by_hand():
    by_hand = ("stored = load(ROOT / 'data' / 'results' / 'k.json')\n"
               "assert fit(config).record['metrics'] == stored['metrics']\n")
    assert compares_with_the_store_unaided(by_hand)
    assert not compares_with_the_store_unaided(by_hand.replace(
        "assert fit(config).record['metrics'] == stored['metrics']",
        "assert compare(stored, fit(config).record, FIELDS).ok"))
    assert not compares_with_the_store_unaided("records = ResultsStore(ROOT / 'data' / "
                                               "'results').records()\n")


def test_only_the_helper_compares_fresh_numbers_with_the_repository_store():
    offenders = [path.name for path in sorted(TESTS.glob("test_*.py"))
                 if compares_with_the_store_unaided(path.read_text())]
    assert not offenders, (f"{offenders} compare fresh numbers with data/results/ by hand: "
                           "use lt_lab.reproduce.compare, which knows the hardware")


def test_records_are_not_changed_by_comparing_them():
    stored, fresh = record(), record(hardware=XEON)
    before = copy.deepcopy((stored, fresh))
    compare(stored, fresh, FIELDS)
    assert (stored, fresh) == before


def test_a_listing_names_the_machine_of_each_record_briefly():
    from lt_lab.reproduce import hardware_label

    assert hardware_label(record(hardware=XEON)) == ("cpu Intel(R) Xeon(R) Processor, AMX, "
                                                     "2 threads, bf16")
    assert hardware_label(record(hardware={**HERE, "threads": 1}, precision=None)) == (
        "cpu AMD EPYC, AVX2, 1 thread")
    gpu = {"type": "cuda", "name": "NVIDIA H100 80GB HBM3", "capability": "9.0"}
    assert hardware_label(record(hardware=gpu)) == "cuda NVIDIA H100 80GB HBM3, bf16"
    assert hardware_label({"hardware": ["odd"]}) == "hardware unknown"


def test_an_untracked_module_makes_a_record_dirty_but_an_untracked_record_does_not(tmp_path):
    """git_commit on a copy of provenance.py in a fresh repository: clean; an untracked
    lt_lab/extra.py makes it -dirty; an untracked data/results/x.json does not."""
    import importlib.util
    import shutil
    import subprocess

    from lt_lab import provenance as original

    (tmp_path / "lt_lab").mkdir()
    shutil.copy(original.__file__, tmp_path / "lt_lab" / "provenance.py")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(tmp_path)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    spec = importlib.util.spec_from_file_location("copied", tmp_path / "lt_lab" / "provenance.py")
    copied = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(copied)
    assert not copied.git_commit().endswith("-dirty")
    (tmp_path / "data" / "results").mkdir(parents=True)
    (tmp_path / "data" / "results" / "x.json").write_text("{}")
    assert not copied.git_commit().endswith("-dirty")
    (tmp_path / "lt_lab" / "extra.py").write_text("")
    assert copied.git_commit().endswith("-dirty")
