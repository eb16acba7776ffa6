"""The benchmark (``lt_lab.bench``): the conventional pipeline, an end-to-end run, the table,
the paper-run plumbing and the GPU script's syntax."""

import argparse
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

from lt_lab import bench
from lt_lab.data import longtail_counts
from lt_lab.results import ResultsStore

REPO = Path(__file__).resolve().parents[1]


def _image() -> torch.Tensor:
    """A 1×3×4 uint8 image whose pixels are all different (1..12)."""
    return torch.arange(1, 13, dtype=torch.uint8).view(1, 3, 4)


def test_crop_window_is_a_shifted_window_of_the_zero_padded_image():
    image = _image()
    assert torch.equal(bench.crop_window(image, 1, 1, 1), image)  # the centre: no shift
    shifted = bench.crop_window(image, 1, 0, 2)  # one row up, one column right
    expected = torch.zeros_like(image)
    expected[:, 1:, :3] = image[:, :2, 1:]
    assert torch.equal(shifted, expected)
    assert torch.equal(bench.crop_window(image, 0, 5, 5), image)  # no padding: no crop


def _windows(image: torch.Tensor, padding: int) -> list[torch.Tensor]:
    span = range(2 * padding + 1)
    crops = [bench.crop_window(image, padding, top, left) for top in span for left in span]
    return crops + [crop.flip(-1) for crop in crops]


def test_getitem_returns_a_normalised_float_tensor_of_the_right_shape():
    images = torch.stack([_image(), 255 - _image()])
    labels = torch.tensor([3, 7])
    dataset = bench.ConventionalDataset(images, labels, mean=(0.5,), std=(0.25,), padding=0,
                                        flip=False)
    assert len(dataset) == 2
    x, y = dataset[1]
    assert x.dtype == torch.float32 and x.shape == (1, 3, 4) and y == 7
    torch.testing.assert_close(x, (images[1].float() / 255 - 0.5) / 0.25)


def test_getitem_crops_and_flips_at_random_within_the_valid_windows():
    image = _image()
    dataset = bench.ConventionalDataset(image[None], torch.tensor([0]), mean=(0.0,),
                                        std=(1.0,), padding=1, flip=True)
    valid = _windows(image, 1)
    torch.manual_seed(0)
    seen = set()
    for _ in range(200):
        x, _ = dataset[0]
        raw = (x * 255).round().to(torch.uint8)
        matches = [i for i, window in enumerate(valid) if torch.equal(raw, window)]
        assert matches, "not a shifted or mirrored window of the padded image"
        seen.add(matches[0])
    assert len(seen) >= 12  # of the 18 crops × flips, most show up in 200 draws
    assert any(i < 9 for i in seen) and any(i >= 9 for i in seen)  # flipped and not


def test_synthetic_cifar_has_the_cifar10_lt_counts():
    data = bench.synthetic_cifar(test_per_class=2)
    assert data.class_counts == bench.CIFAR10_LT_COUNTS
    assert data.train_images.shape == (sum(bench.CIFAR10_LT_COUNTS), 3, 32, 32)
    assert data.train_images.dtype == torch.uint8
    assert torch.bincount(data.train_labels).tolist() == bench.CIFAR10_LT_COUNTS
    assert data.test_images.shape == (20, 3, 32, 32)


def test_steps_per_epoch_matches_train_epoch():
    assert bench.steps_per_epoch(256, 128) == 2
    assert bench.steps_per_epoch(257, 128) == 2  # a last batch of one image is skipped
    assert bench.images_per_epoch(257, 128) == 256
    assert bench.steps_per_epoch(258, 128) == 3


def test_summary_reports_the_best_round_and_the_median():
    from lt_lab.bench.harness import summarise

    rounds = [{"images": 100, "steps": 2, "seconds": 1.0},  # 100 images/s
              {"images": 100, "steps": 2, "seconds": 0.5},  # 200: the best
              {"images": 100, "steps": 2, "seconds": 0.8}]  # 125: the median
    summary = summarise(rounds, 400, workers=2)
    assert summary["images_per_s"] == 200.0 and summary["median_images_per_s"] == 125.0
    assert summary["s_per_epoch"] == 2.0  # 400 images at 200 images/s
    assert (summary["images"], summary["steps"], summary["seconds"]) == (300, 6, 2.3)
    assert summary["workers"] == 2 and len(summary["rounds"]) == 3


def test_training_flops_of_a_linear_model_are_six_per_weight_and_image():
    # forward 2·in·out an image; backward as much again for the weights' gradient and for
    # the input's (x asks for one here; a network's first layer would not)
    model = torch.nn.Linear(4, 3, bias=False)
    x, y = torch.randn(5, 4, requires_grad=True), torch.tensor([0, 1, 2, 0, 1])
    flops = bench.train_flops_per_image(model, torch.nn.functional.cross_entropy, x, y)
    assert flops == 6 * 4 * 3


def test_flop_rates_against_a_known_peak():
    rates = bench.flop_rates({"trainer": 1000.0, "packed_4": 3000.0}, 4e8, peak=10.0)
    assert rates["train_gflop_per_image"] == 0.4
    assert rates["achieved_tflops"] == {"trainer": 0.4, "packed_4": 1.2}  # 1000 × 4e8 / 1e12
    assert rates["of_peak"] == {"trainer": 0.04, "packed_4": 0.12}
    assert bench.flop_rates({"trainer": 1.0}, 1.0, peak=None)["of_peak"] is None


def test_the_peak_is_known_for_datasheet_gpus_only(monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "NVIDIA H200")
    assert bench.peak_tflops(torch.device("cuda"), "bf16") == 989.4
    assert bench.peak_tflops(torch.device("cuda"), "fp32") is None  # TF32 or not: unknown
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Tesla T4")
    assert bench.peak_tflops(torch.device("cuda"), "fp16") == 65.0
    assert bench.peak_tflops(torch.device("cuda"), "bf16") is None  # no bf16 on a T4
    assert bench.peak_tflops(torch.device("cpu"), "bf16") is None


def test_model_result_ratios_and_the_table():
    from lt_lab.bench.harness import model_result

    timed = {name: [{"images": 300, "steps": 3, "seconds": seconds}]
             for name, seconds in (("trainer", 1.0), ("conventional", 1.5), ("ceiling", 0.75))}
    result = model_result("mlp", 1, 1, 300, timed, dict.fromkeys(timed, 0.1), workers=2)
    assert result["speedup_vs_conventional"] == 1.5  # 300 / 200 images/s
    assert result["efficiency_vs_ceiling"] == 0.75  # 300 / 400 images/s
    record = {"benchmark": {"dataset_title": "Fashion-MNIST-LT", "imbalance_ratio": 100.0,
                            "train_images": 300, "batch_size": 128, "optimizer": {"lr": 0.05},
                            "rounds": 1}, "device": "cpu", "results": [result]}
    lines = bench.format_table(record).split("\n")
    assert lines[0].startswith("Fashion-MNIST-LT ρ=100: 300 training images, batch 128")
    assert lines[1] == lines[3] == lines[-1] == "-" * len(lines[2])
    assert lines[4].split()[-2:] == ["300.0", "1.000"]  # the trainer: no ratio
    assert lines[5].endswith("1.50 ×") and lines[6].endswith("75.0 %")


def test_a_packed_pipeline_is_a_row_and_a_ratio_to_the_trainer():
    from lt_lab.bench.harness import model_result

    timed = {name: [{"images": images, "steps": 3, "seconds": seconds}]
             for name, images, seconds in (("trainer", 300, 1.0), ("conventional", 300, 1.5),
                                           ("ceiling", 300, 0.75), ("packed_4", 1200, 2.0))}
    result = model_result("mlp", 1, 1, 300, timed, dict.fromkeys(timed, 0.1), workers=2)
    assert result["packed_vs_trainer"] == {"4": 2.0}  # 600 images/s of 4 runs, 300 of one
    result["flops"] = bench.flop_rates({"trainer": 300.0, "packed_4": 600.0}, 1e9, peak=None)
    record = {"benchmark": {"dataset_title": "Fashion-MNIST-LT", "imbalance_ratio": 100.0,
                            "train_images": 300, "batch_size": 128, "optimizer": {"lr": 0.05},
                            "rounds": 1}, "device": "cpu", "results": [result]}
    table = bench.format_table(record)
    assert "packed K=4 (all K), fp32" in table and "/ trainer: K=4 2.00 ×" in table
    assert "1 GFLOP/image (fwd+bwd); TFLOP/s: trainer 0.3, best packed_4 0.6" in table


def test_benchmark_options_follow_the_device_and_quick():
    from lt_lab.bench.harness import resolve_options
    from lt_lab.errors import ConfigError

    cpu = resolve_options(torch.device("cpu"), dataset=None, models=None, steps=None,
                          warmup=None, workers=None, rounds=None, quick=True, profile=None,
                          n_max=None)
    assert cpu == {"dataset": "fashion_mnist", "models": ("small_cnn", "resnet8"),
                   "profile": "smoke", "steps": 2, "warmup": 1, "workers": 2, "rounds": 1,
                   "n_max": 100, "pack_widths": (1, 2)}
    full = resolve_options(torch.device("cpu"), dataset=None, models=None, steps=None,
                           warmup=None, workers=None, rounds=None, quick=False, profile=None,
                           n_max=None)
    assert full["pack_widths"] == (1, 4, 16)
    with pytest.raises(ConfigError, match=r"pack_widths=\[0\] must be integers >= 1"):
        resolve_options(torch.device("cpu"), dataset=None, models=None, steps=None,
                        warmup=None, workers=None, rounds=None, quick=True, profile=None,
                        n_max=None, pack_widths=[0])
    with pytest.raises(ConfigError, match="rounds=0 must be >= 1"):
        resolve_options(torch.device("cpu"), dataset=None, models=None, steps=None,
                        warmup=None, workers=None, rounds=0, quick=False, profile=None,
                        n_max=None)


def _parse(argv):
    return bench.add_arguments(argparse.ArgumentParser()).parse_args(argv)


@pytest.mark.slow
def test_quick_benchmark_writes_a_record_and_prints_the_table(tmp_path, capsys):
    output = tmp_path / "bench" / "cpu.json"
    args = _parse(["--quick", "--device", "cpu", "--dataset", "synthetic_cifar", "--models",
                   "mlp", "--workers", "1", "--rounds", "2", "--pack-widths", "2",
                   "--output", str(output)])
    assert bench.run_from_args(args) == 0

    record = json.loads(output.read_text())
    assert record["kind"] == "lt_lab.bench"
    assert record["benchmark"]["batch_size"] == 128 and record["benchmark"]["workers"] == 1
    assert record["benchmark"]["optimizer"] == {"name": "SGD", "lr": 0.05, "momentum": 0.9,
                                                "weight_decay": 2e-4}
    assert record["device"].startswith("cpu") and record["device_kind"] == "cpu"
    assert {"python", "torch", "numpy", "lt_lab"} <= set(record["versions"])
    assert record["git_commit"] and record["created"]
    (result,) = record["results"]
    assert result["model"] == "mlp"
    n = record["benchmark"]["train_images"]
    for name in ("trainer", "conventional", "ceiling"):
        m = result[name]
        assert m["images"] > 0 and m["seconds"] > 0 and m["images_per_s"] > 0
        # the record rounds seconds to 4 decimals
        assert m["s_per_epoch"] == pytest.approx(n / m["images_per_s"], rel=1e-3, abs=1e-4)
    assert result["trainer"]["steps"] == result["conventional"]["steps"]
    assert result["ceiling"]["steps"] == result["trainer"]["steps"]
    assert result["trainer"]["images"] == result["conventional"]["images"] == 2 * n
    for name in ("trainer", "conventional", "ceiling"):  # the best of 2 rounds
        rounds = result[name]["rounds"]
        assert len(rounds) == 2 and result[name]["steps"] == sum(r["steps"] for r in rounds)
        best = max(r["images"] / r["seconds"] for r in rounds)
        # round seconds are stored to 4 decimals: a 40 ms round is only known to 0.25 %
        assert result[name]["images_per_s"] == pytest.approx(best, rel=1e-2)
        assert result[name]["median_images_per_s"] <= result[name]["images_per_s"]
    rates = {name: result[name]["images_per_s"] for name in ("trainer", "conventional",
                                                              "ceiling")}
    assert result["speedup_vs_conventional"] == pytest.approx(
        rates["trainer"] / rates["conventional"], rel=1e-2)
    assert result["efficiency_vs_ceiling"] == pytest.approx(
        rates["trainer"] / rates["ceiling"], rel=1e-2)
    packed = result["packed_2"]  # two runs as one model: both runs' images, same steps
    assert packed["images"] == 2 * result["trainer"]["images"]
    assert packed["steps"] == result["trainer"]["steps"]
    assert result["packed_vs_trainer"]["2"] == pytest.approx(
        packed["images_per_s"] / rates["trainer"], rel=1e-2)
    flops = result["flops"]
    assert flops["train_gflop_per_image"] > 0 and flops["peak_tflops"] is None  # a CPU
    assert set(flops["achieved_tflops"]) == {"trainer", "conventional", "ceiling",
                                             "ceiling_bf16", "packed_2"}

    table = capsys.readouterr().out
    for unit in ("images/s", "s/epoch", "×", "%"):
        assert unit in table
    for label in ("lt_lab trainer", "conventional DataLoader (W=1)", "ceiling",
                  "packed K=2 (all K), fp32", "packed (K runs' images/s) / trainer: K=2",
                  "GFLOP/image (fwd+bwd)", "device peak unknown"):
        assert label in table
    assert str(output) in table


def test_benchmark_rejects_an_unknown_dataset(tmp_path):
    from lt_lab.errors import ConfigError

    with pytest.raises(ConfigError, match="synthetic_cifar"):
        bench.run_benchmark(device="cpu", dataset="cifar10", quick=True,
                            output=tmp_path / "x.json")


def test_paper_config_is_the_paper_protocol():
    ce = bench.paper_config("fashion_mnist", "ce")
    assert (ce.model, ce.epochs, ce.batch_size, ce.lr, ce.loss) == ("resnet32", 200, 128, 0.1,
                                                                    "ce")
    ldam = bench.paper_config("synthetic_cifar", "ldam_drw")
    assert ldam.dataset == "cifar10" and ldam.loss == "ldam" and ldam.head == "cosine"
    assert ldam.loss_params == {"drw_start": 0.8}  # epoch 160 of 200


@pytest.mark.slow
def test_paper_runs_keep_synthetic_records_out_of_the_results_store(tmp_path):
    lines = []
    overrides = {"model": "mlp", "n_max": 100, "test_per_class": 5, "eval_every": 1,
                 "device": "cpu"}
    records = bench.paper_runs(tmp_path, datasets=["synthetic_cifar"],
                               losses_=["ce", "ldam_drw"], epochs=3, overrides=overrides,
                               log=lines.append)
    assert len(records) == 2
    assert not list(tmp_path.glob("*.json"))  # nothing in the results store
    stored = sorted((tmp_path / "synthetic").glob("*.json"))
    assert [path.name for path in stored] == [
        "synthetic_cifar10-ce-mlp-3ep-seed0.json", "synthetic_cifar10-ldam_drw-mlp-3ep-seed0.json"]
    for record, path in zip(records, stored, strict=True):
        assert record["path"] == str(path)
        on_disk = json.loads(path.read_text())
        assert on_disk["synthetic"] is True and on_disk["synthetic_data"] == bench.SYNTHETIC_NAME
        # the engine's record, untouched: its key is its config's, and no store serves it
        config = bench.paper_config("synthetic_cifar", path.name.split("-")[1], 3, overrides)
        assert on_disk["key"] == config.key() and on_disk["config"] == config.to_dict()
        assert path.stem != on_disk["key"]
        assert ResultsStore(tmp_path).load(config) is None
        assert ResultsStore(tmp_path / "synthetic").load(config) is None
        assert on_disk["class_counts"] == longtail_counts(100, 10, 100)
        timing = on_disk["extras"]["bench_timing"]
        assert len(timing["seconds_at_epoch_end"]) == 3 and timing["concurrent_runs"] == 1
    assert records[1]["config"]["loss_params"] == {"drw_start": 0.8}
    assert any("epoch 3/3" in line for line in lines)


def test_gpu_script_is_valid_bash_and_executable():
    script = REPO / "scripts" / "gpu_check.sh"
    assert script.stat().st_mode & 0o111
    if shutil.which("bash") is None:
        pytest.skip("no bash")
    subprocess.run(["bash", "-n", str(script)], check=True)


def test_python_dash_m_lt_lab_bench_is_the_benchmark_cli(monkeypatch, capsys):
    import runpy

    monkeypatch.setattr("sys.argv", ["python -m lt_lab.bench", "--help"])
    with pytest.raises(SystemExit) as done:
        runpy.run_module("lt_lab.bench", run_name="__main__")
    assert done.value.code == 0
    assert "--paper-run" in capsys.readouterr().out
