import json

from lt_lab.cli import main


def test_run_prints_metrics_and_per_class_table(tmp_path, capsys):
    code = main(["run", "--profile", "smoke", "--set", "epochs=1", "--results-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "balanced_acc" in out and "T-shirt/top" in out and "trained in" in out
    assert len(list(tmp_path.glob("*.json"))) == 1
    main(["run", "--profile", "smoke", "--set", "epochs=1", "--results-dir", str(tmp_path)])
    assert "stored record" in capsys.readouterr().out


def test_bad_input_is_one_clear_line(tmp_path, capsys):
    code = main(["run", "--profile", "smoke", "--loss", "nope", "--results-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("lt-lab: error: loss='nope' is not known; allowed values:")
    assert "Traceback" not in err


def test_grid_runs_each_config_once(tmp_path, capsys):
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps([{"profile": "smoke", "epochs": 1, "seed": s} for s in (0, 1)]))
    assert main(["grid", str(grid), "--results-dir", str(tmp_path / "r")]) == 0
    assert len(list((tmp_path / "r").glob("*.json"))) == 2
    assert main(["results", "--results-dir", str(tmp_path / "r")]) == 0
    assert "2 records" in capsys.readouterr().out


def test_data_check_lists_every_dataset(capsys):
    assert main(["data", "check"]) == 0
    out = capsys.readouterr().out
    for name in ("fashion_mnist", "cifar10", "cifar100", "digits"):
        assert name in out


def test_results_lists_records_of_every_kind(tmp_path, capsys):
    from lt_lab.results import write_json_atomic

    write_json_atomic(tmp_path / "a.json", {
        "key": "a", "kind": "regression", "seed": 0, "metrics": {"mae": 7.25},
        "config": {"profile": "quick", "dataset": "rotated_fashion_mnist", "loss": "mse",
                   "imbalance_ratio": 100.0, "seed": 0}})
    write_json_atomic(tmp_path / "b.json", {
        "key": "b", "kind": "ufm", "seed": 1, "metrics": {},
        "config": {"profile": "quick", "class_counts": [4.0, 4.0, 1.0], "loss": "ce"}})
    assert main(["results", "--results-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "MAE 7.250" in out and "ufm: R=4 loss=ce" in out
