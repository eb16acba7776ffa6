"""``scripts/gpu_session.py``: the GPU session's flow, dry-run on the CPU with tiny sizes, its
time estimates by hand, and the archive's way into the store."""

import importlib.util
import json
from pathlib import Path

import pytest
from fixtures_synthetic import synthetic_fashion_mnist  # noqa: F401

from lt_lab.config import config_from_dict
from lt_lab.results import ResultsStore

REPO = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("gpu_session",
                                                  REPO / "scripts" / "gpu_session.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gpu_session = _script()


def _entries(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]


def test_a_rate_between_measured_widths_is_interpolated_linearly():
    rates = {1: 20_000.0, 16: 80_000.0}
    assert gpu_session.rate_at(rates, 5) == 20_000 + 60_000 * 4 / 15  # 36,000
    assert gpu_session.rate_at(rates, 16) == 80_000.0
    assert gpu_session.rate_at(rates, 64) == 80_000.0  # beyond: the nearest measured


def test_a_pack_of_five_paper_runs_is_estimated_from_the_rate_and_the_compile_cost():
    args = gpu_session.parse(["--device", "cpu"])
    configs = gpu_session.paper_configs(args, [0], "reduce-overhead")
    assert [c.loss for c in configs] == ["ce", "ldam", "logit_adjusted", "balanced_softmax",
                                         "cb_focal"]
    assert {(c.pack, c.model, c.epochs, c.n_max, c.dataset) for c in configs} == {
        (5, "resnet32", 200, None, "fashion_mnist")}
    # 14,886 images (n_max 6000, ρ=100) × 200 epochs × 5 runs at 36,000 images/s, + 90 s
    seconds = gpu_session.estimate_s(configs, {1: 20_000.0, 16: 80_000.0}, compiled=True)
    assert seconds == pytest.approx(14_886 * 200 * 5 / 36_000 + 90)


def test_the_pack_runs_in_the_mode_predicted_faster_compilation_included():
    args = gpu_session.parse(["--device", "cpu"])
    rates = {"off": {1: 10_000.0, 16: 60_000.0}, "reduce-overhead": {1: 20_000.0, 16: 70_000.0}}
    mode, seconds = gpu_session.choose_compile(args, rates, [0])
    # eager: 14,886·1000/23,333 = 638 s; compiled: 14,886·1000/33,333 + 90 = 537 s
    assert mode == "reduce-overhead" and seconds == pytest.approx(14_886_000 / 33_333.33 + 90)
    assert gpu_session.choose_compile(args, {}, [0]) == ("off", None)  # nothing measured


@pytest.mark.slow
@pytest.mark.usefixtures("synthetic_fashion_mnist")
def test_the_dry_run_archives_every_record_then_the_import_stores_them(tmp_path):
    out = tmp_path / "out"
    assert gpu_session.main(["--dry-run", "--out", str(out)]) == 0
    entries = _entries(out)
    assert [e["type"] for e in entries] == ["bench"] * 2 + ["run"] * 15
    assert [e["record"]["width"] for e in entries[:2]] == [1, 2]
    runs = [e["record"] for e in entries[2:]]
    assert [r["seed"] for r in runs] == [0] * 5 + [1] * 5 + [2] * 5  # seed 0 of all first
    assert [r["pack"]["members"] for r in runs] == [5] * 5 + [10] * 10
    assert {r["config"]["profile"] for r in runs} == {"paper"}
    log = (out / "gpu_session.log").read_text()
    assert "(b) pack of 5 (seeds 0, compile=off)" in log and "done:" in log

    store, bench = tmp_path / "results", tmp_path / "bench"
    assert gpu_session.main(["--import", str(out / "records.jsonl"), "--results-dir",
                             str(store), "--bench-dir", str(bench)]) == 0
    for record in runs:
        assert ResultsStore(store).load(config_from_dict(record["config"])) == record
    (written,) = bench.glob("cpu-packed-*.json")
    assert [w["width"] for w in json.loads(written.read_text())["widths"]] == [1, 2]


@pytest.mark.usefixtures("synthetic_fashion_mnist")
def test_what_does_not_fit_the_budget_is_skipped_and_said(tmp_path):
    out = tmp_path / "out"
    # 20 s: less than a K's 30 s allowance
    assert gpu_session.main(["--dry-run", "--out", str(out), "--budget-s", "20",
                             "--reserve-s", "0", "--then-seeds", ""]) == 0
    log = (out / "gpu_session.log").read_text()
    assert "(a) K=1 off: skipped" in log and "(a) K=2 off: skipped" in log
    # nothing measured, so no estimate: the pack is tried (tiny here) and archived
    assert "(b) pack of 5 (seeds 0, compile=off): ce, ldam_drw" in log
    assert len(_entries(out)) == 5
