"""``lt-lab``: run, grid (configs of every kind), data check, results (records of every kind).

The training tests use tiny configs on the synthetic Fashion-MNIST of
``fixtures_synthetic`` (random images: only the plumbing is tested, never accuracy).
"""

import json

import pytest
from fixtures_synthetic import synthetic_fashion_mnist  # noqa: F401

from lt_lab.cli import main
from lt_lab.collapse.ufm import make_ufm_config
from lt_lab.config import CACHE_VERSION, make_config
from lt_lab.regression import make_regression_config
from lt_lab.results import ResultsStore, write_json_atomic

TINY = ["--profile", "smoke", "--model", "mlp", "--imbalance-ratio", "10", "--n-max", "20",
        "--set", "epochs=1", "--set", "test_per_class=5", "--set", "batch_size=16"]


@pytest.mark.usefixtures("synthetic_fashion_mnist")
def test_run_prints_metrics_and_per_class_table(tmp_path, capsys):
    code = main(["run", *TINY, "--results-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "balanced_acc" in out and "T-shirt/top" in out and "trained in" in out
    assert len(list(tmp_path.glob("*.json"))) == 1
    main(["run", *TINY, "--results-dir", str(tmp_path)])
    assert "stored record" in capsys.readouterr().out


def test_bad_input_is_one_clear_line(tmp_path, capsys):
    code = main(["run", "--profile", "smoke", "--loss", "nope", "--results-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("lt-lab: error: loss='nope' is not known; allowed values:")
    assert "Traceback" not in err


@pytest.mark.usefixtures("synthetic_fashion_mnist")
def test_grid_runs_each_config_once(tmp_path, capsys):
    grid = tmp_path / "grid.json"
    tiny = {"profile": "smoke", "model": "mlp", "epochs": 1, "n_max": 20, "imbalance_ratio": 10,
            "test_per_class": 5, "batch_size": 16}
    grid.write_text(json.dumps([{**tiny, "seed": s} for s in (0, 1)]))
    assert main(["grid", str(grid), "--results-dir", str(tmp_path / "r")]) == 0
    assert len(list((tmp_path / "r").glob("*.json"))) == 2
    assert main(["grid", str(grid), "--results-dir", str(tmp_path / "r")]) == 0  # stored
    assert len(list((tmp_path / "r").glob("*.json"))) == 2
    assert main(["results", "--results-dir", str(tmp_path / "r")]) == 0
    assert "2 records" in capsys.readouterr().out


def test_grid_builds_configs_of_every_kind(tmp_path, capsys):
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps([
        {"kind": "ufm", "profile": "smoke", "class_counts": [4, 4, 1], "steps": 20},
        {"kind": "regression", "profile": "smoke", "dataset": "synthetic_1d", "epochs": 1},
    ]))
    assert main(["grid", str(grid), "--results-dir", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    records = ResultsStore(tmp_path / "r").records()
    assert sorted(r["kind"] for r in records) == ["regression", "ufm"]
    ufm = make_ufm_config("smoke", class_counts=[4, 4, 1], steps=20)
    assert ufm.key() in {r["key"] for r in records}
    assert "ufm: R=4" in out and "MAE" in out


def test_grid_refuses_an_unknown_kind(tmp_path, capsys):
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps([{"kind": "clustering", "profile": "smoke"}]))
    assert main(["grid", str(grid), "--results-dir", str(tmp_path / "r")]) == 2
    assert "kind='clustering' is not known" in capsys.readouterr().err


def test_data_check_lists_every_dataset(capsys):
    assert main(["data", "check"]) == 0
    out = capsys.readouterr().out
    for name in ("fashion_mnist", "cifar10", "cifar100", "digits"):
        assert name in out


def _record(config, metrics: dict, **fields) -> dict:
    return {"key": config.key(), "kind": config.kind, "cache_version": CACHE_VERSION,
            "config": config.to_dict(), "seed": config.seed, "metrics": metrics, **fields}


def test_results_lists_records_of_every_kind(tmp_path, capsys):
    classification = make_config("smoke")
    regression = make_regression_config("quick", loss="mse")
    ufm = make_ufm_config("quick", class_counts=[4.0, 4.0, 1.0], loss="ce")
    for record in (
        _record(classification, {"acc": 0.5}),
        _record(regression, {"mae": 7.25}, per_bin=[], bins=[]),
        _record(ufm, {}, class_counts=[4.0, 4.0, 1.0], geometry={}),
    ):
        write_json_atomic(tmp_path / f"{record['key']}.json", record)
    assert main(["results", "--results-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "3 records" in out
    assert "acc  50.00 %" in out and "MAE 7.250" in out
    assert "ufm: R=4" in out and "loss=ce" in out


def test_results_names_the_machine_of_every_record_and_counts_them(tmp_path, capsys):
    xeon = {"type": "cpu", "model": "Intel(R) Xeon(R) Processor", "isa": ["avx2", "amx_bf16"],
            "threads": 2}
    epyc = {"type": "cpu", "model": "AMD EPYC", "isa": ["avx2", "fma"], "threads": 1}
    for seed, hardware in ((0, xeon), (1, xeon), (2, epyc)):
        config = make_config("smoke", seed=seed)
        record = _record(config, {"acc": 0.5}, hardware=hardware, precision="bf16")
        write_json_atomic(tmp_path / f"{record['key']}.json", record)
    assert main(["results", "--results-dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert sum("[cpu Intel(R) Xeon(R) Processor, AMX, 2 threads, bf16]" in line
               for line in lines) == 2
    assert lines[-2:] == ["2 made on cpu Intel(R) Xeon(R) Processor, AMX, 2 threads, bf16",
                          "1 made on cpu AMD EPYC, AVX2, 1 thread, bf16"]
