"""Nothing finished is lost: checkpoints, resume, and a results store checked before training.

A run interrupted after a checkpoint (here: an exception in a callback, or SIGKILL of a
subprocess) resumes when started again with the same config, and its record is the one an
uninterrupted run writes, apart from wall time and creation date. Everything runs on the
synthetic Fashion-MNIST of ``fixtures_synthetic`` or the 1-D regression task, on one thread
(so that two processes compute bit for bit the same).
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fixtures_synthetic import synthetic_fashion_mnist  # noqa: F401

from lt_lab.config import make_config
from lt_lab.loop import Checkpointer
from lt_lab.regression import make_regression_config
from lt_lab.results import ResultsStore, StoreError
from lt_lab.runtime import threads

VARIES = ("wall_time_s", "created")  # what may differ between a resumed and a whole run
TINY = dict(model="mlp", n_max=30, test_per_class=10, imbalance_ratio=10, batch_size=16,
            epochs=4, device="cpu", analyses={"collapse": {"every": 1}})


def same_record(a: dict, b: dict) -> None:
    a = {k: v for k, v in a.items() if k not in VARIES}
    b = {k: v for k, v in b.items() if k not in VARIES}
    assert a == b, sorted(k for k in a if a[k] != b.get(k))


class StopAfter:
    """A callback that interrupts the run after ``epoch`` (0-based) as Ctrl-C would."""

    def __init__(self, epoch: int):
        self.epoch = epoch

    def on_epoch_end(self, state) -> None:
        if state.epoch == self.epoch:
            raise KeyboardInterrupt


@pytest.mark.usefixtures("synthetic_fashion_mnist")
@pytest.mark.parametrize("sampler", ["instance", "oversample"])
def test_an_interrupted_run_resumes_to_the_same_record(tmp_path, capsys, sampler):
    from lt_lab.train import fit

    config = make_config("smoke", sampler=sampler, **TINY)
    with threads(1):
        whole = fit(config, store=ResultsStore(tmp_path / "whole"), checkpoint_every=0).record
        store = ResultsStore(tmp_path / "resumed")
        with pytest.raises(KeyboardInterrupt):
            fit(config, store=store, checkpoint_every=1, callbacks=[StopAfter(2)])
        checkpoint = store.checkpoint_path(config.key())
        assert checkpoint.exists() and store.load(config) is None
        resumed = fit(config, store=store, checkpoint_every=1).record
    assert "resuming classification run" in capsys.readouterr().err
    assert not checkpoint.exists()  # removed once the record is written
    same_record(whole, resumed)
    assert len(resumed["extras"]["collapse"]) == config.epochs  # snapshots before and after


def test_an_interrupted_regression_run_resumes_with_its_fds_statistics(tmp_path, monkeypatch,
                                                                       capsys):
    from lt_lab.regression import train as regression_train

    config = make_regression_config("smoke", dataset="synthetic_1d", imbalance_ratio=10.0,
                                    epochs=4, fds=True, fds_start_smooth=1, device="cpu")
    whole = regression_train.fit_regression(config, store=ResultsStore(tmp_path / "whole"),
                                            checkpoint_every=0).record
    store = ResultsStore(tmp_path / "resumed")
    original = regression_train.train_epoch

    def interrupted(run, data, config, epoch, generator):
        if epoch == 2:
            raise KeyboardInterrupt
        return original(run, data, config, epoch, generator)

    monkeypatch.setattr(regression_train, "train_epoch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        regression_train.fit_regression(config, store=store, checkpoint_every=1)
    monkeypatch.setattr(regression_train, "train_epoch", original)
    assert store.checkpoint_path(config.key()).exists()
    resumed = regression_train.fit_regression(config, store=store, checkpoint_every=1).record
    assert "resuming regression run" in capsys.readouterr().err
    assert not store.checkpoint_path(config.key()).exists()
    same_record(whole, resumed)


def test_the_default_rule_checkpoints_once_a_minute_and_never_after_the_last_epoch(
        tmp_path, monkeypatch):
    from lt_lab import loop

    config = make_config("smoke", epochs=5)
    clock = iter(range(0, 1000, 40))  # every call: 40 s later
    monkeypatch.setattr(loop.time, "perf_counter", lambda: next(clock))
    saved = []
    checkpoints = Checkpointer(tmp_path / "c.pt", config, {})
    monkeypatch.setattr(checkpoints, "save", lambda epoch, curves: saved.append(epoch))
    for epoch in range(5):
        checkpoints(epoch, {})
    assert saved and 4 not in saved  # a minute passes every other epoch; the last: the record
    assert not Checkpointer(tmp_path / "c.pt", config, {}, every=0).due(0)
    assert Checkpointer(tmp_path / "c.pt", config, {}, every=2).due(1)
    with pytest.raises(Exception, match="checkpoint_every"):
        Checkpointer(tmp_path / "c.pt", config, {}, every=-1)


def test_a_checkpoint_of_another_config_is_ignored_with_a_warning(tmp_path):
    import torch

    config = make_config("smoke", epochs=5)
    path = tmp_path / "c.pt"
    torch.save({"format": 1, "key": "0000000000000000", "parts": {}}, path)
    with pytest.warns(UserWarning, match="ignoring the checkpoint"):
        assert Checkpointer(path, config, {}).resume() == (0, None)
    path.write_bytes(b"not a checkpoint")
    with pytest.warns(UserWarning, match="ignoring the checkpoint"):
        assert Checkpointer(path, config, {}).resume() == (0, None)


def test_a_checkpoint_of_this_config_that_does_not_load_names_the_file_and_the_fix(tmp_path):
    import torch

    from lt_lab.errors import CheckpointError, UserError

    config = make_config("smoke", epochs=5)
    path = tmp_path / "c.pt"
    torch.save({"format": 1, "key": config.key(), "epoch": 1, "curves": {}, "extras": {},
                "elapsed_s": 1.0, "rng": {}, "parts": {"model": {"weight": torch.zeros(3, 3)}}},
               path)  # this config's header, a model of another shape
    with pytest.raises(CheckpointError) as raised:
        Checkpointer(path, config, {"model": torch.nn.Linear(2, 2)}).resume()
    message = str(raised.value)
    assert isinstance(raised.value, UserError) and isinstance(raised.value, RuntimeError)
    assert f"cannot resume from the checkpoint {path}: it is of this config" in message
    assert "its part 'model' cannot be loaded" in message and "size mismatch" in message
    assert "Delete that file" in message and "--results-dir" in message
    assert "\n" not in message and isinstance(raised.value.__cause__, RuntimeError)


@pytest.mark.usefixtures("synthetic_fashion_mnist")
def test_the_command_line_refuses_a_checkpoint_that_does_not_load_in_one_line(tmp_path,
                                                                               capsys):
    import torch

    from lt_lab.cli import main
    from lt_lab.train import fit

    fields = dict(model="mlp", n_max=20, imbalance_ratio=10, test_per_class=5, batch_size=16,
                  epochs=3, device="cpu")
    config = make_config("smoke", **fields)
    store = ResultsStore(tmp_path / "store")
    with threads(1), pytest.raises(KeyboardInterrupt):
        fit(config, store=store, checkpoint_every=1, callbacks=[StopAfter(1)])
    path = store.checkpoint_path(config.key())  # of epoch 1, before StopAfter's
    state = torch.load(path, weights_only=True)
    model = state["parts"]["model"]
    name = next(iter(model))
    model[name] = torch.zeros(*(size + 1 for size in model[name].shape))  # damaged
    torch.save(state, path)
    arguments = [f"--{field.replace('_', '-')}={value}" for field, value in fields.items()
                 if field not in ("test_per_class", "batch_size")]
    code = main(["run", "--profile", "smoke", *arguments, "--set", "test_per_class=5",
                 "--set", "batch_size=16", "--results-dir", str(store.root)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and len(err.splitlines()) == 1
    assert err.startswith(f"lt-lab: error: cannot resume from the checkpoint {path}: ")
    assert "Delete that file" in err and path.exists() and store.load(config) is None


# ------------------------------------------------------------------------------ the store


def _no_training(monkeypatch):
    """Make any data loading (the first step of training) fail the test."""
    from lt_lab import train

    def refuse(*args, **kwargs):
        raise AssertionError("training started before the store was checked")

    monkeypatch.setattr(train, "prepare_data", refuse)


def test_a_store_path_that_is_a_file_fails_before_training(tmp_path, monkeypatch):
    from lt_lab.train import fit

    _no_training(monkeypatch)
    blocked = tmp_path / "results"
    blocked.write_text("not a folder")
    started = time.perf_counter()
    with pytest.raises(StoreError, match=str(blocked)):
        fit(make_config("smoke"), store=ResultsStore(blocked))
    assert time.perf_counter() - started < 5


def test_a_read_only_store_fails_before_training(tmp_path, monkeypatch):
    from lt_lab import io
    from lt_lab.train import fit

    _no_training(monkeypatch)

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(io.tempfile, "mkstemp", read_only)
    started = time.perf_counter()
    with pytest.raises(StoreError, match=r"results.*Read-only file system.*LT_LAB_RESULTS"):
        fit(make_config("smoke"), store=ResultsStore(tmp_path / "results"))
    assert time.perf_counter() - started < 5


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_folder_without_write_permission_fails_before_training(tmp_path, monkeypatch):
    from lt_lab.train import fit

    _no_training(monkeypatch)
    root = tmp_path / "results"
    root.mkdir()
    root.chmod(0o555)
    try:
        with pytest.raises(StoreError, match=str(root)):
            fit(make_config("smoke"), store=ResultsStore(root))
    finally:
        root.chmod(0o755)


def test_a_regression_run_checks_its_store_before_training(tmp_path, monkeypatch):
    from lt_lab.regression import train as regression_train

    def refuse(*args, **kwargs):
        raise AssertionError("training started before the store was checked")

    monkeypatch.setattr(regression_train, "prepare_regression_data", refuse)
    blocked = tmp_path / "results"
    blocked.write_text("")
    with pytest.raises(StoreError, match=str(blocked)):
        regression_train.fit_regression(make_regression_config("smoke"),
                                        store=ResultsStore(blocked))


# ------------------------------------------------------------------------ kill -9, resume

RUN = """
import json, sys, time
import torch
torch.set_num_threads(1)
from lt_lab.config import make_config
from lt_lab.results import ResultsStore
from lt_lab.train import fit

store, overrides, pause, every = sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3]), \\
    int(sys.argv[4])


class Pause:  # slows each epoch down, so that the test can kill the run mid-way
    def on_epoch_end(self, state):
        time.sleep(pause)


fit(make_config("smoke", **overrides), store=ResultsStore(store), checkpoint_every=every,
    callbacks=[Pause()] if pause else [])
"""


def _run(store: Path, pause: float, every: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", RUN, str(store), json.dumps(TINY), str(pause), str(every)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"})


@pytest.mark.slow
@pytest.mark.usefixtures("synthetic_fashion_mnist")
def test_a_run_killed_with_sigkill_resumes_to_the_uninterrupted_record(tmp_path):
    config = make_config("smoke", **TINY)
    store = ResultsStore(tmp_path / "killed")
    checkpoint = store.checkpoint_path(config.key())
    victim = _run(store.root, pause=2.0, every=1)
    deadline = time.monotonic() + 120
    while not checkpoint.exists():
        assert victim.poll() is None, victim.communicate()
        assert time.monotonic() < deadline, "no checkpoint within 2 minutes"
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert victim.returncode == -signal.SIGKILL
    assert store.load(config) is None and checkpoint.exists()

    resumed = _run(store.root, pause=0.0, every=1)
    whole = _run(tmp_path / "whole", pause=0.0, every=0)
    errors = {}
    for name, process in (("resumed", resumed), ("whole", whole)):
        _, errors[name] = process.communicate(timeout=300)
        assert process.returncode == 0, errors[name]
    assert "resuming classification run" in errors["resumed"]
    assert "resuming" not in errors["whole"]
    assert not checkpoint.exists()
    same_record(ResultsStore(tmp_path / "whole").load(config), store.load(config))


# ------------------------------------------------------------------------ SIGTERM, full disks


class TerminateAfter:
    """A callback that sends this process SIGTERM after ``epoch`` (SLURM's time limit)."""

    def __init__(self, epoch: int):
        self.epoch = epoch

    def on_epoch_end(self, state) -> None:
        if state.epoch == self.epoch:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler raises before this ends


@pytest.mark.usefixtures("synthetic_fashion_mnist")
@pytest.mark.process
def test_sigterm_stops_a_run_as_ctrl_c_does_and_it_resumes_to_the_same_record(tmp_path):
    from lt_lab.cli import Terminated, terminated_as_interrupt
    from lt_lab.train import fit

    config = make_config("smoke", **TINY)
    store = ResultsStore(tmp_path / "terminated")
    with threads(1):
        whole = fit(config, store=ResultsStore(tmp_path / "whole"), checkpoint_every=0).record
        with terminated_as_interrupt(), pytest.raises(Terminated):
            fit(config, store=store, checkpoint_every=1, callbacks=[TerminateAfter(1)])
        assert store.checkpoint_path(config.key()).exists() and store.load(config) is None
        assert not list(store.root.rglob("*.tmp"))
        same_record(whole, fit(config, store=store, checkpoint_every=1).record)
    assert signal.getsignal(signal.SIGTERM) is not None  # the previous handler is back


def test_the_command_line_exits_143_on_sigterm_with_one_line(monkeypatch, capsys):
    from lt_lab import cli

    def terminated(args):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)

    monkeypatch.setattr(cli, "cmd_results", terminated)
    assert cli.main(["results"]) == 143
    error = capsys.readouterr().err
    assert "terminated" in error and "resumes from its last checkpoint" in error
    assert "Traceback" not in error


@pytest.mark.usefixtures("synthetic_fashion_mnist")
@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "No space left on device"),
                                     RuntimeError("[enforce fail at inline_container.cc:672]")])
def test_a_checkpoint_that_cannot_be_written_warns_and_the_run_finishes(tmp_path, monkeypatch,
                                                                       failure):
    from lt_lab import io
    from lt_lab.train import fit

    write_atomic = io.write_atomic

    def full_disk(path, write):  # the checkpoint fails; the small record still fits
        if Path(path).suffix == ".pt":
            raise failure
        return write_atomic(path, write)

    monkeypatch.setattr(io, "write_atomic", full_disk)
    store = ResultsStore(tmp_path)
    config = make_config("smoke", **TINY)
    with pytest.warns(UserWarning, match="could not write the checkpoint .*the run goes on"):
        record = fit(config, store=store, checkpoint_every=1).record
    assert store.load(config) == record


def test_stale_temporary_files_are_swept_and_fresh_ones_kept(tmp_path):
    store = ResultsStore(tmp_path)
    checkpoints = store.checkpoint_path("0" * 16).parent
    checkpoints.mkdir(parents=True)
    stale = [tmp_path / ".0123456789abcdef.json.x1y2.tmp",
             checkpoints / ".0123456789abcdef.pt.a8b9.tmp"]
    fresh = checkpoints / ".fedcba9876543210.pt.c7d6.tmp"  # a checkpoint being written now
    for path in (*stale, fresh):
        path.write_bytes(b"half a file")
    hours_ago = time.time() - 2 * 3600
    for path in stale:
        os.utime(path, (hours_ago, hours_ago))
    with pytest.warns(UserWarning, match="deleted 2 temporary file"):
        store.check_writable()  # every run calls it before training
    assert not any(path.exists() for path in stale) and fresh.exists()
