"""Every bad input a clear error: a battery of what a careless user types.

Each bad input on the command line (``lt_lab.cli.main``) exits with status 2 and one
message that names the parameter or file at fault, never a traceback; the Python API and
the chapters' papermill parameters raise ``ConfigError`` (or ``DataUnavailableError``) naming
it. Nothing here trains: every input is refused before training starts (the few that need
data use the synthetic Fashion-MNIST of ``fixtures_synthetic``). Also here: downloads checked
against the published checksums, ``lt-lab data check`` on a corrupt folder, and bad run
records that must not break ``lt-lab results`` or ``lt-lab run``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from pathlib import Path

import pytest
from fixtures_synthetic import FILES, synthetic_fashion_mnist, write_fashion_mnist  # noqa: F401

from lt_lab.book import chapter
from lt_lab.cli import main
from lt_lab.collapse import make_ufm_config
from lt_lab.config import CACHE_VERSION, make_config
from lt_lab.data import sources
from lt_lab.errors import ConfigError, DataUnavailableError
from lt_lab.io import write_json_atomic
from lt_lab.regression import make_regression_config

RUN = ["run", "--profile", "smoke"]


def cli(capsys, argv: list[str]) -> tuple[int, str]:
    """Exit status and everything printed (stdout and stderr) of ``lt-lab <argv>``."""
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def refused(capsys, argv: list[str], *named: str) -> str:
    code, output = cli(capsys, argv)
    assert code == 2, output
    assert "Traceback" not in output
    for name in named:
        assert name in output, output
    return output


# ------------------------------------------------------------------- lt-lab run: a config

RUN_INPUTS = [  # (arguments after `lt-lab run --profile smoke`, what the message must name)
    (["--set", "imbalance_ratio=abc"], ["imbalance_ratio", "a number >= 1"]),
    (["--set", "imbalance_ratio=inf"], ["imbalance_ratio"]),
    (["--imbalance-ratio", "abc"], ["imbalance_ratio", "a number >= 1"]),
    (["--imbalance-ratio", "inf"], ["imbalance_ratio"]),
    (["--imbalance-ratio", "NaN"], ["imbalance_ratio"]),
    (["--imbalance-ratio", "0.5"], ["imbalance_ratio", ">= 1"]),
    (["--seed", "-1"], ["seed", ">= 0"]),
    (["--seed", str(2**40)], ["seed", "4294967295"]),
    (["--seed", "1.5"], ["seed", "an integer"]),
    (["--set", "epochs=2.5"], ["epochs", "an integer"]),
    (["--epochs", "0"], ["epochs", ">= 1"]),
    (["--set", "loss_params=[1,2]"], ["loss_params", "mapping"]),
    (["--set", 'loss_params={"gamma": 2}'], ["loss_params", "gamma"]),
    (["--loss", "focall"], ["loss='focall'", "allowed values"]),
    (["--set", "lr_decay=-1"], ["lr_decay", "> 0 and <= 1"]),
    (["--set", "lr_decay=0"], ["lr_decay"]),
    (["--set", "momentum=5"], ["momentum", "< 1"]),
    (["--set", "momentum=1"], ["momentum"]),
    (["--set", "warmup_epochs=2"], ["warmup_epochs=2", "epochs=2"]),
    (["--loss", "class_balanced", "--set", 'loss_params={"drw_start": 0.8}'],
     ["drw_start", "never"]),
    (["--set", "n_max=150.5"], ["n_max", "an integer"]),
    (["--set", 'lr_milestones="0.5"'], ["lr_milestones", "must be a list of fractions"]),
    (["--set", "lr_milestones=0.5"], ["lr_milestones", "must be a list of fractions"]),
    (["--set", "lr_milestones=[160, 180]"], ["lr_milestones"]),
    (["--set", "batch_size=1"], ["batch_size", "BatchNorm"]),
    (["--set", 'analyses={"classifier_fixes": {"fixes": "crt"}}', "--set", "val_per_class=5"],
     ["analyses['classifier_fixes']['fixes']", "list"]),
    (["--set", 'analyses={"posthoc": {"taus": "1"}}'], ["analyses['posthoc']['taus']"]),
    (["--set", 'analyses={"nope": {}}'], ["analyses", "'nope'"]),
    (["--set", 'analyses={"collapse": {"every": 0}}'], ["analyses['collapse']['every']"]),
    (["--set", "learning_rate=0.1"], ["learning_rate", "allowed"]),
    (["--set", "epochs"], ["--set 'epochs'", "FIELD=VALUE"]),
    (["--dataset", "mnist"], ["dataset='mnist'", "fashion_mnist"]),
    (["--device", "tpu"], ["device='tpu'"]),
    (["--set", "precision=fp8"], ["precision='fp8'"]),
    (["--n-max", "7000"], ["n_max=7000", "6000"]),
    (["--set", "lr=0"], ["lr", "> 0"]),
    (["--set", "weight_decay=-1"], ["weight_decay"]),
    (["--set", "augment=1"], ["augment", "true or false"]),
    (["--set", "eval_every=0"], ["eval_every"]),
    (["--set", "class_order=shuffled"], ["class_order"]),
    (["--sampler", "balanced"], ["sampler='balanced'"]),
    (["--set", "val_per_class=-5"], ["val_per_class"]),
]


@pytest.mark.parametrize(("arguments", "named"), RUN_INPUTS,
                         ids=[" ".join(a)[:40] for a, _ in RUN_INPUTS])
def test_a_bad_run_input_is_one_message_naming_it(capsys, tmp_path, arguments, named):
    refused(capsys, [*RUN, *arguments, "--results-dir", str(tmp_path)], *named)


@pytest.mark.parametrize("arguments", [["--bogus"], ["--checkpoint-every", "x"],
                                       ["--profile"]])
def test_a_malformed_command_line_is_a_usage_message(capsys, arguments):
    output = refused(capsys, ["run", *arguments])
    assert "usage:" in output and arguments[0] in output


def test_an_unknown_profile_is_named(capsys):
    refused(capsys, ["run", "--profile", "fast"], "profile='fast'",
            "'smoke', 'quick', 'long', 'paper'")


# ------------------------------------------------------------- lt-lab run: files and data


def test_a_results_dir_that_is_a_file_is_named(capsys, tmp_path):
    blocked = tmp_path / "results"
    blocked.write_text("")
    refused(capsys, [*RUN, "--results-dir", str(blocked)], str(blocked), "cannot write")


def test_lt_lab_data_pointing_nowhere_is_named(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("LT_LAB_DATA", str(tmp_path / "missing"))
    sources._load_cached.cache_clear()
    refused(capsys, [*RUN, "--results-dir", str(tmp_path / "r")],
            f"LT_LAB_DATA={tmp_path / 'missing'}", "does not exist")


def test_a_truncated_data_file_is_named(capsys, tmp_path, monkeypatch):
    folder = write_fashion_mnist(tmp_path / "data")
    damaged = folder / FILES["train"][0]
    damaged.write_bytes(damaged.read_bytes()[:200])
    monkeypatch.setenv("LT_LAB_DATA", str(folder))
    sources._load_cached.cache_clear()
    refused(capsys, [*RUN, "--results-dir", str(tmp_path / "r")], str(damaged), "delete it")


@pytest.mark.usefixtures("synthetic_fashion_mnist")
def test_a_batch_larger_than_the_training_set_names_both_numbers(capsys, tmp_path):
    output = refused(capsys, [*RUN, "--model", "mlp", "--n-max", "20", "--imbalance-ratio",
                              "10", "--set", "test_per_class=5", "--set", "batch_size=500",
                              "--results-dir", str(tmp_path)], "batch_size=500")
    assert "training set of this config (78 images)" in output
    assert not list(tmp_path.glob("*.json"))


def test_an_internal_error_keeps_its_traceback(monkeypatch, tmp_path):
    from lt_lab import train

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug, not an input")

    monkeypatch.setattr(train, "fit", broken)
    with pytest.raises(ZeroDivisionError):
        main([*RUN, "--results-dir", str(tmp_path)])


# ------------------------------------------------------------------------------ lt-lab grid

GRID_INPUTS = [  # (file contents, what the message must name besides the file)
    ("[{", ["not valid JSON"]),
    ('{"profile": "smoke"}', ["a JSON list", "dict"]),
    ('["smoke"]', ["entry 1", "JSON object"]),
    ('[{"kind": "clustering"}]', ["entry 1", "kind='clustering' is not known"]),
    ('[{"profile": "smoke"}, {"profile": "smoke", "seed": "0"}]', ["entry 2", "seed='0'"]),
    ('[{"kind": "regression", "profile": "smoke", "cls_classes": 1000}]',
     ["cls_classes=1000", "45 label bins"]),
    ('[{"kind": "regression", "profile": "smoke", "lr_decay": 2}]', ["lr_decay"]),
    ('[{"kind": "regression", "profile": "smoke", "lds_ks": true}]', ["lds_ks"]),
    ('[{"kind": "ufm", "class_counts": [1]}]', ["class_counts", "at least 2"]),
    ('[{"kind": "ufm", "class_counts": [4, 4, 1], "minority": [5]}]', ["minority"]),
    ('[{"kind": "ufm", "class_counts": "4,4,1"}]', ["class_counts", "a list"]),
]


@pytest.mark.parametrize(("contents", "named"), GRID_INPUTS,
                         ids=[c[:30] for c, _ in GRID_INPUTS])
def test_a_bad_grid_file_is_one_message_naming_it(capsys, tmp_path, contents, named):
    grid = tmp_path / "grid.json"
    grid.write_text(contents)
    refused(capsys, ["grid", str(grid), "--results-dir", str(tmp_path / "r")], str(grid),
            *named)


def test_a_missing_grid_file_is_named(capsys, tmp_path):
    refused(capsys, ["grid", str(tmp_path / "nowhere.json")], "nowhere.json", "cannot read")


def test_a_grid_file_that_is_a_folder_is_named(capsys, tmp_path):
    refused(capsys, ["grid", str(tmp_path)], str(tmp_path), "cannot read")


# ------------------------------------------------------------------- lt-lab book execute

CHAPTER = "chapters/04_neural_collapse.ipynb"
BOOK_INPUTS = [  # -p NAME VALUE (the value as typed: JSON when it parses)
    (["-p", "imbalance_ratio", '"100"'], ["imbalance_ratio='100'", "a number",
                                          "without quotes"]),
    (["-p", "seeds", "1"], ["seeds=1", "a list of numbers"]),
    (["-p", "ufm_ratios", '["1", "3"]'], ["ufm_ratios", "a list of numbers"]),
    (["-p", "use_cache", "True"], ["use_cache='True'", "true or false"]),
    (["-p", "learning_rate", "0.1"], ["learning_rate", "ufm_ratios"]),
]


@pytest.mark.parametrize(("parameters", "named"), BOOK_INPUTS,
                         ids=[" ".join(p) for p, _ in BOOK_INPUTS])
def test_a_bad_papermill_parameter_is_refused_before_running(capsys, parameters, named):
    refused(capsys, ["book", "execute", CHAPTER, *parameters], *named)


def test_a_missing_notebook_is_named(capsys, tmp_path):
    refused(capsys, ["book", "execute", str(tmp_path / "99_nothing.ipynb")], "99_nothing.ipynb",
            "does not exist")


# --------------------------------------------------------- the chapters' parameter cells

GOOD = dict(profile="smoke", dataset="fashion_mnist", imbalance_ratio=100, seeds=[0, 1],
            device="cpu")
CHAPTER_INPUTS = [  # what papermill may inject, as the notebooks pass it to the check
    ({"imbalance_ratio": "100"}, ["imbalance_ratio='100'", "without quotes"]),
    ({"imbalance_ratio": math.inf}, ["imbalance_ratio"]),
    ({"ufm_ratios": []}, ["ufm_ratios=[]", "non-empty"]),
    ({"ufm_ratios": 10}, ["ufm_ratios=10", "list"]),
    ({"mild_ratio": ["10"]}, ["mild_ratio", "a number"]),
    ({"compare_ratios": [0.5]}, ["compare_ratios", ">= 1"]),
    ({"seeds": 1}, ["seeds=1", "list of integers"]),
    ({"seeds": [-1]}, ["seeds"]),
    ({"seeds": [True]}, ["seeds"]),
    ({"subset_seeds": "012"}, ["subset_seeds"]),
    ({"device": "tpu"}, ["device='tpu'"]),
    ({"dataset": "mnist"}, ["dataset='mnist'"]),
    ({"profile": ["smoke"]}, ["profile"]),
    ({"seeds": [0, 0]}, ["seeds=[0, 0]", "more than once"]),
    ({"subset_seeds": [1, 2, 1]}, ["subset_seeds=[1, 2, 1]", "[1]", "more than once"]),
    ({"imbalance_ratio": 10**400}, ["imbalance_ratio=", "too large"]),
]


@pytest.mark.parametrize(("changes", "named"), CHAPTER_INPUTS,
                         ids=[str(c)[:30] for c, _ in CHAPTER_INPUTS])
def test_a_bad_chapter_parameter_stops_the_first_cell(changes, named):
    with pytest.raises(ConfigError) as caught:
        chapter.check_parameters(**{**GOOD, **changes})
    assert all(name in str(caught.value) for name in named), str(caught.value)


def test_a_chapter_with_an_empty_ratio_grid_stops_in_its_parameter_check():
    """Chapter 4's first cell passes ``ufm_ratios`` to the check: ``[]`` stops there."""
    source = json.loads(open(CHAPTER).read())
    checks = ["".join(c["source"]) for c in source["cells"]
              if "chapter.check_parameters(" in "".join(c["source"])]
    assert checks and "ufm_ratios=ufm_ratios" in checks[0]


@pytest.mark.slow
def test_chapter_4_with_an_empty_ratio_grid_stops_in_its_parameter_check(tmp_path):
    import nbformat
    import papermill

    from lt_lab import book

    with pytest.raises(papermill.PapermillExecutionError) as failure:
        book.execute(CHAPTER, {"profile": "smoke", "ufm_ratios": []}, output_dir=tmp_path,
                     claims_dir=None)
    assert "ufm_ratios=[] must be a non-empty list" in str(failure.value)
    executed = nbformat.read(tmp_path / ".04_neural_collapse.partial.ipynb", as_version=4)
    code = [c for c in executed.cells if c.cell_type == "code"]
    failed = [i for i, c in enumerate(code) if any(o.output_type == "error" for o in c.outputs)]
    assert len(failed) == 1 and "chapter.check_parameters(" in code[failed[0]].source
    assert all(c.execution_count is None for c in code[failed[0] + 1:])  # no work done


# ------------------------------------------------------------------------- the Python API

API_INPUTS = [
    (lambda: make_config("smoke", seed=2**40), ["seed"]),
    (lambda: make_config("smoke", imbalance_ratio=10**400), ["imbalance_ratio"]),
    (lambda: make_config("smoke", imbalance_ratio=math.nan), ["imbalance_ratio"]),
    (lambda: make_config("smoke", loss_params={"beta": {1, 2}}), ["loss_params"]),
    (lambda: make_config("smoke", lr_milestones="0.5"), ["must be a list of fractions"]),
    (lambda: make_config("smoke").replace(n_max=150.5), ["n_max"]),
    (lambda: make_regression_config("smoke", cls_classes=1000), ["cls_classes"]),
    (lambda: make_regression_config("smoke", warmup_epochs=2), ["warmup_epochs"]),
    (lambda: make_regression_config("smoke", momentum=0.9), ["momentum"]),
    (lambda: make_ufm_config("smoke", class_counts="abc"), ["class_counts"]),
    (lambda: make_ufm_config("smoke", seed=-1), ["seed"]),
]


@pytest.mark.parametrize(("build", "named"), API_INPUTS, ids=range(len(API_INPUTS)))
def test_a_bad_api_input_is_a_config_error_naming_it(build, named):
    with pytest.raises(ConfigError) as caught:
        build()
    assert all(name in str(caught.value) for name in named), str(caught.value)


def test_lt_lab_data_pointing_nowhere_is_an_error_not_a_fall_back(tmp_path, monkeypatch):
    from lt_lab.regression.data import faces_root

    monkeypatch.setenv("LT_LAB_DATA", str(tmp_path / "missing"))
    with pytest.raises(DataUnavailableError, match="LT_LAB_DATA=.*missing.*does not exist"):
        sources.load_dataset("fashion_mnist", download=False)
    with pytest.raises(DataUnavailableError, match="LT_LAB_DATA=.*missing"):
        faces_root("agedb")
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("LT_LAB_DATA", str(tmp_path / "a-file"))
    with pytest.raises(DataUnavailableError, match="is not a folder"):
        sources.load_dataset("fashion_mnist", download=False)


# ---------------------------------------------------------------- downloads and checksums


@pytest.mark.data
def test_published_checksums_are_the_debian_copys_contents():
    """The official MD5s of the four .gz files, and of their decompressed contents: Debian's
    package recompresses the files, so its .gz bytes differ but the contents match."""
    assert set(sources.FASHION_MNIST_MD5) == set(sources.FASHION_MNIST_FILES.values())
    assert all(len(md5) == 32 for pair in sources.FASHION_MNIST_MD5.values() for md5 in pair)
    debian = sources._SYSTEM_DIRS["fashion_mnist"][0]
    if not (debian / "t10k-labels-idx1-ubyte.gz").exists():
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    for name, (_, content) in sources.FASHION_MNIST_MD5.items():
        with gzip.open(debian / name) as stream:
            assert hashlib.md5(stream.read()).hexdigest() == content, name


def _serve_from(folder, monkeypatch) -> None:
    """Make Fashion-MNIST "downloads" read ``folder`` (a file:// URL, no network)."""
    monkeypatch.setattr(sources, "FASHION_MNIST_URL", folder.as_uri() + "/")
    sources._load_cached.cache_clear()


def test_a_download_that_fails_its_checksum_is_deleted_and_reported(tmp_path, monkeypatch):
    served = write_fashion_mnist(tmp_path / "served")  # not the published files
    _serve_from(served, monkeypatch)
    target = tmp_path / "downloads"
    with pytest.raises(DataUnavailableError) as caught:
        sources.load_dataset("fashion_mnist", root=target)
    message = str(caught.value)
    assert "MD5" in message and "it was deleted" in message and "published" in message
    assert "train-images-idx3-ubyte.gz" in message
    assert not target.exists() or not list(target.iterdir())  # nothing half-written kept


def test_a_download_that_matches_its_checksum_is_kept(tmp_path, monkeypatch):
    served = write_fashion_mnist(tmp_path / "served")
    checksums = {name: (hashlib.md5((served / name).read_bytes()).hexdigest(), "")
                 for name in sources.FASHION_MNIST_MD5}
    monkeypatch.setattr(sources, "FASHION_MNIST_MD5", checksums)
    _serve_from(served, monkeypatch)
    dataset = sources.load_dataset("fashion_mnist", root=tmp_path / "downloads")
    assert dataset.source == str((tmp_path / "downloads").resolve())
    assert sorted(p.name for p in (tmp_path / "downloads").iterdir()) == sorted(checksums)


def test_data_check_reads_what_it_finds(capsys, tmp_path, monkeypatch):
    folder = write_fashion_mnist(tmp_path / "data")
    monkeypatch.setenv("LT_LAB_DATA", str(folder))
    code, output = cli(capsys, ["data", "check"])
    assert code == 0 and "Traceback" not in output
    line = next(line for line in output.splitlines() if line.startswith("fashion_mnist"))
    assert "yes" in line and "read" in line and "differ from the published" in line
    damaged = folder / FILES["test"][1]
    damaged.write_bytes(b"<html>not found</html>")
    code, output = cli(capsys, ["data", "check"])
    line = next(line for line in output.splitlines() if line.startswith("fashion_mnist"))
    assert code == 0 and line.startswith("fashion_mnist  no") and "corrupt" in line
    assert str(damaged) in line and "not validated" not in output


# ------------------------------------------------------------------- bad records in a store


def _record(config, **changes) -> dict:
    record = {"key": config.key(), "kind": config.kind, "cache_version": CACHE_VERSION,
              "config": config.to_dict(), "seed": config.seed, "wall_time_s": 1.0,
              "device": "cpu", "metrics": {"acc": 0.5, "balanced_acc": 0.4, "ece": 0.1},
              "class_names": ["a", "b"], "class_counts": [10, 1], "per_class_acc": [0.8, 0.0]}
    record.update(changes)
    return {k: v for k, v in record.items() if v is not None}


def test_bad_records_never_break_the_listing(capsys, tmp_path):
    good = make_config("smoke", seed=1)
    no_acc = make_config("smoke", seed=2)
    no_per_class = make_config("smoke", seed=3)
    natural = make_regression_config("smoke", dataset="agedb")
    for record in (_record(good), _record(no_acc, metrics={"balanced_acc": 0.4}),
                   _record(no_per_class, per_class_acc=None),
                   {**_record(natural), "metrics": {"mae": 7.0}, "per_bin": {}, "bins": {}}):
        write_json_atomic(tmp_path / f"{record['key']}.json", record)
    (tmp_path / "0000000000000000.json").write_text("{ truncated")
    code, output = cli(capsys, ["results", "--results-dir", str(tmp_path)])
    assert code == 0 and "Traceback" not in output
    assert "3 records" in output and "ρ=natural" in output
    assert f"{no_acc.key()}.json: a classification record without metrics.acc" in output
    assert "0000000000000000.json" in output


def test_a_stored_record_without_per_class_accuracy_still_prints(capsys, tmp_path):
    config = make_config("smoke", model="mlp")
    write_json_atomic(tmp_path / f"{config.key()}.json",
                      _record(config, per_class_acc=None, wall_time_s=None))
    code, output = cli(capsys, [*RUN, "--model", "mlp", "--results-dir", str(tmp_path)])
    assert code == 0 and "Traceback" not in output
    assert "stored record" in output and "per class: n/a" in output
    assert "acc" in output and "50.00 %" in output


@pytest.mark.usefixtures("synthetic_fashion_mnist")
def test_undersampling_with_a_batch_larger_than_its_epoch_trains_one_batch_an_epoch(store):
    # 10 classes, n_min = 3 at rho=10: an undersampled epoch is 30 images, the set 136.
    from lt_lab.config import make_config
    from lt_lab.train import fit

    config = make_config("smoke", model="mlp", n_max=30, imbalance_ratio=10,
                         test_per_class=10, batch_size=64, sampler="undersample",
                         epochs=1, device="cpu")
    record = fit(config, store=store).record
    assert len(record["curves"]["train_loss"]) == 1


# ---------------------------------------------------------------- outputs, pipes, odd records


def _never(args):
    raise AssertionError("the command worked before checking its output")


@pytest.mark.parametrize("argv, named", [
    (["bench", "--quick", "--output", "{file}/bench.json"], "--output {file}/bench.json"),
    (["bench", "--quick", "--output", "{tmp}"], "is a folder"),
    (["book", "time", "--output", "{file}/time.json"], "--output {file}/time.json"),
    (["book", "execute", "chapters/00_long_tail.ipynb", "--output", "{file}/out"],
     "--output {file}/out"),
    (["book", "strip-solutions", "--output", "{file}/student"], "--output {file}/student"),
])
def test_an_output_that_cannot_be_written_is_named_before_any_work(capsys, tmp_path, monkeypatch,
                                                                   argv, named):
    from lt_lab import book
    from lt_lab import cli as cli_module

    blocked = tmp_path / "a-file"
    blocked.write_text("")
    monkeypatch.setattr(book, "time_book", _never)
    monkeypatch.setattr(book, "execute", _never)
    monkeypatch.setattr(cli_module, "cmd_bench", _checked_bench(cli_module.cmd_bench))
    argv = [part.format(file=blocked, tmp=tmp_path) for part in argv]
    output = refused(capsys, argv, named.format(file=blocked, tmp=tmp_path))
    assert "AssertionError" not in output


def _checked_bench(cmd_bench):
    def checked(args):
        args.bench = _never
        return cmd_bench(args)
    return checked


@pytest.mark.parametrize("path, named", [("README.md", "not a Jupyter notebook"),
                                         ("chapters", "not a Jupyter notebook")])
def test_book_execute_on_what_is_not_a_notebook_is_named(capsys, path, named):
    refused(capsys, ["book", "execute", path], path, named)


def test_a_notebook_that_is_not_json_is_named(capsys, tmp_path):
    fake = tmp_path / "fake.ipynb"
    fake.write_text("# not a notebook")
    refused(capsys, ["book", "execute", str(fake)], str(fake), "cannot be read as a notebook")


@pytest.mark.process
def test_results_into_a_closed_pipe_exits_quietly(tmp_path):
    import subprocess
    import sys

    config = make_config("smoke")
    write_json_atomic(tmp_path / f"{config.key()}.json", _record(config))
    process = subprocess.Popen([sys.executable, "-m", "lt_lab", "results", "--results-dir",
                                str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # lt-lab results | head -0: the reader is gone at once
    error = process.stderr.read().decode()
    assert process.wait() == 141 and error == ""


@pytest.mark.parametrize("changes", [
    {"kind": ["classification"]}, {"kind": {"a": 1}}, {"key": ["x"]}, {"key": None},
    {"config": {"seed": "zero"}}, {"config": {"epochs": 1e400}}, {"cache_version": [1]},
    {"metrics": "acc"},
], ids=str)
def test_one_odd_record_never_stops_the_listing(capsys, tmp_path, changes):
    good, odd = make_config("smoke", seed=1), make_config("smoke", seed=2)
    write_json_atomic(tmp_path / f"{good.key()}.json", _record(good))
    (tmp_path / f"{odd.key()}.json").write_text(json.dumps({**_record(odd), **changes})
                                                .replace("Infinity", "1e400"))
    code, output = cli(capsys, ["results", "--results-dir", str(tmp_path)])
    assert code == 0 and "Traceback" not in output and "1 records" in output
    assert f"{odd.key()}.json" in output


def test_a_results_folder_that_is_a_file_is_an_error_naming_it(capsys, tmp_path):
    blocked = tmp_path / "results"
    blocked.write_text("")
    refused(capsys, ["results", "--results-dir", str(blocked)], str(blocked),
            "it is not a folder")


def test_a_results_folder_that_cannot_be_listed_is_an_error_naming_it(capsys, tmp_path,
                                                                       monkeypatch):
    import errno
    import os

    def denied(path):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    (tmp_path / "results").mkdir()
    monkeypatch.setattr(os, "scandir", denied)  # root reads any folder: the refusal, faked
    refused(capsys, ["results", "--results-dir", str(tmp_path / "results")],
            str(tmp_path / "results"), "Permission denied")


# ---------------------------------------------------------------- which copy of the data


def test_a_record_states_which_copy_of_the_data_it_used(tmp_path, monkeypatch):
    from lt_lab.results import ResultsStore
    from lt_lab.train import fit

    folder = write_fashion_mnist(tmp_path / "data")
    monkeypatch.setenv("LT_LAB_DATA", str(folder))
    sources._load_cached.cache_clear()
    config = make_config("smoke", model="mlp", epochs=1, n_max=20, imbalance_ratio=10,
                         test_per_class=5, batch_size=16)
    record = fit(config, store=ResultsStore(tmp_path / "r")).record
    assert record["data_source"] == str(folder.resolve())
    assert record["key"] == config.key()  # a field of the record, not of the key


def test_an_empty_lt_lab_data_folder_passed_over_for_another_copy_is_named(tmp_path,
                                                                           monkeypatch):
    write_fashion_mnist(tmp_path / "work" / "data")
    monkeypatch.chdir(tmp_path / "work")  # data/ here holds a copy
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("LT_LAB_DATA", str(tmp_path / "empty"))
    sources._load_cached.cache_clear()
    with pytest.raises(DataUnavailableError, match="LT_LAB_DATA=.*empty is an empty folder.*"
                                                   "found in .*work/data"):
        sources.load_dataset("fashion_mnist", download=False)


def test_an_lt_lab_data_folder_that_cannot_be_entered_is_named(tmp_path, monkeypatch, capsys):
    import os

    folder = write_fashion_mnist(tmp_path / "locked")
    monkeypatch.setenv("LT_LAB_DATA", str(folder))
    access = os.access
    monkeypatch.setattr(os, "access",  # root enters any folder: the refusal, faked
                        lambda path, mode, **kw: Path(path) != folder and access(path, mode))
    sources._load_cached.cache_clear()
    refused(capsys, [*RUN, "--results-dir", str(tmp_path / "r")], f"LT_LAB_DATA={folder}",
            "cannot be entered")


# ---------------------------------------------------------------- loss parameters


@pytest.mark.parametrize("loss, params, named", [
    ("ce", {"label_smoothing": float("nan")}, "label_smoothing=nan"),
    ("ce", {"label_smoothing": "0.5"}, "written without quotes"),
    ("ce", {"label_smoothing": 1.5}, "label_smoothing=1.5 must be a number >= 0 and < 1"),
    ("ce", {"label_smoothing": 10**400}, "label_smoothing="),
    ("ldam", {"scale": "30"}, "scale='30'"),
    ("ldam", {"max_margin": True}, "max_margin=True"),
    ("vs", {"tau": "1"}, "tau='1'"),
    ("logit_adjusted", {"tau": [1]}, "tau=[1]"),
    ("weighted_ce", {"scheme": "inverse_square"}, "scheme='inverse_square'"),
    ("cb_focal", {"drw_start": "0.8"}, "drw_start='0.8'"),
])
def test_a_loss_parameter_of_the_wrong_type_or_value_is_refused_by_name(loss, params, named):
    with pytest.raises(ConfigError) as caught:
        make_config("smoke", loss=loss, loss_params=params)
    assert named in str(caught.value) and "loss_params" in str(caught.value)


def test_every_loss_declares_a_constraint_for_every_parameter():
    from lt_lab.losses import registry
    from lt_lab.regression import losses as regression_losses

    for family in (registry._CLASSIFICATION, regression_losses._REGISTRY):
        for name in family.available():
            assert set(family.parameter_constraints(name)) == set(family.parameters(name)), name


def test_a_quoted_loss_parameter_never_makes_a_second_key():
    make_config("smoke", loss_params={"label_smoothing": 0.5})
    with pytest.raises(ConfigError, match="label_smoothing"):
        make_config("smoke", loss_params={"label_smoothing": "0.5"})


def test_a_bad_loss_parameter_on_the_command_line_is_one_line(capsys, tmp_path):
    refused(capsys, [*RUN, "--set", 'loss_params={"label_smoothing": "0.5"}', "--results-dir",
                     str(tmp_path)], "label_smoothing='0.5'", "without quotes")


@pytest.mark.parametrize("argv, named", [
    ([*RUN, "--set", f"test_per_class={10**400}"], "test_per_class="),
    ([*RUN, "--imbalance-ratio", str(10**400)], "imbalance_ratio="),
    (["grid", "g.json", "--launcher", "slurm", "--time", str(10**400)], "time_min="),
])
def test_a_value_too_large_for_a_float_is_named_as_too_large(capsys, tmp_path, monkeypatch,
                                                             argv, named):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.json").write_text('[{"profile": "smoke"}]')
    output = refused(capsys, [*argv, "--results-dir", str(tmp_path / "r")], named, "too large")
    assert "9" * 50 not in output and "0" * 50 not in output  # not 400 digits
