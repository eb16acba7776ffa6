"""The SLURM launcher's logic without a SLURM: which runs are submitted, how they are cut into
array tasks, what the index says, and how a grid's status is read back. A fake executor
stands in for submitit's (same ``map_array``), a dict for ``squeue``, and result files are
written the way submitit writes them. tests/test_slurm.py runs the same against a real
single-node SLURM.
"""

import json

import pytest
from fixtures_synthetic import synthetic_fashion_mnist  # noqa: F401
from submitit.core.utils import JobPaths, cloudpickle_dump

from lt_lab import launch
from lt_lab.cli import build_parser
from lt_lab.config import make_config
from lt_lab.errors import (
    ConfigError,
    GridError,
    SlurmGridError,
    SlurmUnavailableError,
    UserError,
)
from lt_lab.grid import LAUNCHERS, run_grid

TINY = dict(model="mlp", epochs=1, n_max=20, imbalance_ratio=10, test_per_class=5, batch_size=32)


def tiny(seed: int):
    return make_config("smoke", **TINY, seed=seed)


def fake_record(config) -> dict:
    return {"key": config.key(), "kind": config.kind, "cache_version": 1,
            "config": config.to_dict(), "seed": config.seed, "metrics": {"acc": 0.5},
            "class_names": [], "class_counts": [], "per_class_acc": []}


class FakeJob:
    def __init__(self, job_id):
        self.job_id = job_id


class FakeExecutor:
    """submitit's ``map_array`` contract: one job per argument tuple, ids ``<array>_<i>``
    (a single call is a plain job)."""

    def __init__(self, array_id="41"):
        self.array_id, self.calls = array_id, []

    def map_array(self, function, *iterables):
        calls = list(zip(*iterables, strict=True))
        self.calls.append((function, calls))
        if len(calls) == 1:
            return [FakeJob(self.array_id)]
        return [FakeJob(f"{self.array_id}_{i}") for i in range(len(calls))]


def finish(folder, job_id, outcome="success", value=None, stderr=""):
    """Write the result file (and stderr log) submitit leaves behind a finished task."""
    paths = JobPaths(folder, job_id=job_id, task_id=0)
    paths.folder.mkdir(parents=True, exist_ok=True)
    cloudpickle_dump((outcome, value if value is not None else []), paths.result_pickle)
    paths.stderr.write_text(stderr)


@pytest.fixture
def no_squeue(monkeypatch):
    queue = {}
    monkeypatch.setattr(launch, "slurm_queue", lambda names=None: queue)
    return queue


def test_the_slurm_launcher_is_registered_on_import():
    assert LAUNCHERS["slurm"] is launch.launch_slurm


def test_options_map_onto_sbatch_parameters():
    options = launch.SlurmOptions(partition="gpu", time_min=300, gpus_per_task=1,
                                  cpus_per_task=8, mem_gb=32, array_parallelism=10, pack=4,
                                  setup=("module load cuda",), sbatch={"account": "lab"})
    parameters = options.executor_parameters()
    assert parameters["partition"] == "gpu" and parameters["time"] == 300
    assert parameters["gres"] == "gpu:1" and parameters["cpus_per_task"] == 8
    assert parameters["mem"] == "32768MB" and parameters["array_parallelism"] == 10
    assert parameters["setup"] == ["module load cuda"]
    assert parameters["additional_parameters"] == {"account": "lab"}
    assert "gres" not in launch.SlurmOptions().executor_parameters()  # no GPU by default


def test_the_options_are_what_submitit_accepts(tmp_path):
    from submitit.slurm.slurm import _make_sbatch_string

    options = launch.SlurmOptions(partition="gpu", gpus_per_task=2, mem_gb=1.5,
                                  setup=("echo hi",), sbatch={"qos": "high"})
    script = _make_sbatch_string(command="python task.py", folder=tmp_path, map_count=3,
                                 **options.executor_parameters())
    for line in ("--partition=gpu", "--gres=gpu:2", "--mem=1536MB", "--qos=high",
                 "--array=0-2%3", "--time=60", "--cpus-per-task=1", "echo hi"):
        assert line in script


@pytest.mark.parametrize("field, value", [("pack", 0), ("time_min", 0), ("cpus_per_task", 0),
                                          ("gpus_per_task", -1), ("array_parallelism", 0)])
def test_bad_options_are_refused(field, value):
    with pytest.raises(ConfigError, match=field):
        launch.SlurmOptions(**{field: value})


def test_submit_packs_the_missing_runs_and_indexes_them(store, no_squeue):
    configs = [tiny(seed) for seed in range(5)]
    store.save(fake_record(configs[0]))  # stored: skipped
    executor = FakeExecutor()
    submission = launch.submit(configs + [configs[1]], store=store, pack=2, executor=executor)
    (function, calls), = executor.calls
    assert function is launch.run_task
    assert [[entry["key"] for entry in call[0]] for call in calls] == [
        [configs[1].key(), configs[2].key()], [configs[3].key(), configs[4].key()]]
    assert all(call[1] == str(store.root.resolve()) and call[2] is True for call in calls)
    entry = calls[0][0][0]
    assert entry["kind"] == "classification" and entry["config"] == configs[1].to_dict()
    assert submission.job_id == "41" and submission.submitted == 4
    assert submission.stored == 1 and submission.in_flight == 0
    assert "submitted 4 runs as SLURM job 41 (2 tasks" in submission.describe()
    index = json.loads((store.root / ".slurm" / "submissions" / "41.json").read_text())
    assert index["tasks"] == submission.tasks and index["options"]["pack"] == 2
    assert [task["job_id"] for task in index["tasks"]] == ["41_0", "41_1"]


def test_resubmitting_skips_stored_and_in_flight_runs(store, no_squeue):
    configs = [tiny(seed) for seed in range(3)]
    launch.submit(configs, store=store, executor=FakeExecutor("7"))
    no_squeue.update({"7_0": "RUNNING", "7_1": "PENDING"})  # 7_2 left the queue: lost
    executor = FakeExecutor("8")
    again = launch.submit(configs, store=store, executor=executor)
    assert again.in_flight == 2 and again.submitted == 1
    assert [entry["key"] for entry in executor.calls[0][1][0][0]] == [configs[2].key()]
    for config in configs:
        store.save(fake_record(config))
    last = launch.submit(configs, store=store, executor=FakeExecutor("9"))
    assert last.job_id is None and last.tasks == [] and last.stored == 3
    assert last.describe() == "nothing to submit (3 stored, 0 pending or running already)"
    assert not (store.root / ".slurm" / "submissions" / "9.json").exists()


def test_no_cache_submits_stored_runs_too(store, no_squeue):
    config = tiny(0)
    store.save(fake_record(config))
    executor = FakeExecutor()
    assert launch.submit([config], store=store, cache=False, executor=executor).submitted == 1
    assert executor.calls[0][1][0][2] is False  # the task retrains


def test_status_counts_each_state_and_shows_failed_tasks_logs(store, no_squeue):
    configs = [tiny(seed) for seed in range(7)]
    launch.submit(configs[:6], store=store, executor=FakeExecutor("5"))
    folder = store.root / ".slurm"
    store.save(fake_record(configs[0]))
    finish(folder, "5_0")
    no_squeue.update({"5_1": "PENDING", "5_2": "RUNNING", "5_5": "TIMEOUT"})
    finish(folder, "5_3", "error", "Traceback (most recent call last):\n  File ...\n"
           "RuntimeError: 1 of 1 runs of task 5_3 failed:\nabc: ValueError: bad", "boom\n")
    # 5_4 left the queue without a result file: cancelled or lost
    status = launch.grid_status(configs, store)
    assert status.counts() == {"stored": 1, "pending": 1, "running": 1, "failed": 3,
                               "unsubmitted": 1, "unknown": 0}
    assert not status.finished
    text = status.format()
    assert text.startswith("7 runs: 1 stored, 1 pending, 1 running, 3 failed, 1 unsubmitted")
    assert "failed task 5_3" in text and "RuntimeError: 1 of 1 runs" in text and "boom" in text
    assert "failed task 5_4" in text and "left the queue without a result" in text
    assert "failed task 5_5" in text and "SLURM state TIMEOUT" in text


def test_a_task_that_ended_well_without_the_record_is_a_failure(store, no_squeue):
    config = tiny(0)
    launch.submit([config], store=store, executor=FakeExecutor("3"))
    finish(store.root / ".slurm", "3")
    status = launch.grid_status([config], store)
    assert status.counts()["failed"] == 1 and "is not in" in status.format()


def test_without_squeue_unfinished_tasks_are_unknown(store, monkeypatch):
    monkeypatch.setattr(launch, "slurm_queue", lambda names=None: None)
    launch.submit([tiny(0)], store=store, executor=FakeExecutor("3"))
    status = launch.grid_status([tiny(0)], store)
    assert status.counts()["unknown"] == 1 and not status.finished
    with pytest.raises(RuntimeError, match="squeue"):
        launch.wait([tiny(0)], store=store, poll_s=0)


@pytest.fixture
def squeue_not_on_path(monkeypatch):
    """A machine without SLURM's commands: shutil.which finds no squeue, sbatch or srun."""
    which = launch.shutil.which
    monkeypatch.setattr(launch.shutil, "which", lambda name, *args, **kwargs: None
                        if name in ("squeue", "sbatch", "srun") else which(name, *args, **kwargs))


@pytest.mark.usefixtures("squeue_not_on_path")
def test_waiting_without_squeue_on_the_path_is_a_user_error_naming_the_tasks(store):
    configs = [tiny(0), tiny(1)]
    launch.submit(configs, store=store, executor=FakeExecutor("3"))
    with pytest.raises(SlurmUnavailableError) as raised:
        launch.wait(configs, store=store, poll_s=0)
    message = str(raised.value)
    assert isinstance(raised.value, UserError) and isinstance(raised.value, RuntimeError)
    assert "squeue (SLURM) is not on this machine's PATH" in message
    assert "task(s) 3_0, 3_1" in message and "2 unknown" in message
    assert "login node" in message and "lt-lab grid FILE --status" in message


def test_a_squeue_that_does_not_answer_is_named_too(store, monkeypatch):
    import subprocess

    def failing(command, *args, **kwargs):
        raise subprocess.CalledProcessError(1, command, stderr="slurm_load_jobs error")

    monkeypatch.setattr(launch.shutil, "which", lambda name, *args, **kwargs: f"/usr/bin/{name}")
    monkeypatch.setattr(launch.subprocess, "run", failing)
    launch.submit([tiny(0)], store=store, executor=FakeExecutor("3"))
    with pytest.raises(SlurmUnavailableError, match=r"squeue \(SLURM\) did not answer .*task"
                       r"\(s\) 3 "):
        launch.wait([tiny(0)], store=store, poll_s=0)


class FakeSubmitit:
    """submitit as ``lt-lab grid --launcher slurm`` uses it: a SlurmExecutor (a FakeExecutor
    that takes its parameters)."""

    class SlurmExecutor(FakeExecutor):
        def __init__(self, folder):
            super().__init__("17")

        def update_parameters(self, **parameters):
            self.parameters = parameters


@pytest.mark.usefixtures("squeue_not_on_path")
def test_the_command_line_waiting_without_squeue_says_so_in_one_line(tmp_path, capsys,
                                                                     monkeypatch):
    from lt_lab.cli import main

    monkeypatch.setattr(launch, "_submitit", lambda: FakeSubmitit)
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps([{"profile": "smoke", **TINY, "seed": s} for s in (0, 1)]))
    code = main(["grid", str(grid), "--launcher", "slurm", "--wait",
                 "--results-dir", str(tmp_path / "r")])
    captured = capsys.readouterr()
    assert code == 2 and "submitted 2 runs as SLURM job 17" in captured.out
    assert captured.err.startswith("lt-lab: error: cannot follow the SLURM grid: squeue "
                                   "(SLURM) is not on this machine's PATH")
    assert "17_0, 17_1" in captured.err and "Traceback" not in captured.err
    assert len(captured.err.splitlines()) == 1


class RanAtOnce(FakeExecutor):
    """Tasks that end as soon as they are submitted: the first stores its record, the second
    fails with an error, the third leaves the queue without a result (cancelled)."""

    def __init__(self, store):
        super().__init__("5")
        self.store = store

    def map_array(self, function, *iterables):
        jobs = super().map_array(function, *iterables)
        folder = self.store.root / ".slurm"
        (first,), (second,), _ = (call[0] for call in self.calls[-1][1])
        self.store.save(fake_record(config_from_entry(first)))
        finish(folder, jobs[0].job_id)
        finish(folder, jobs[1].job_id, "error", "Traceback (most recent call last):\n"
               f"ValueError: lr too high for {second['key']}", "the task's last words\n")
        return jobs


def config_from_entry(entry):
    from lt_lab.config import config_from_dict

    return config_from_dict(entry["config"], entry["kind"])


def test_a_slurm_grid_that_did_not_finish_names_its_runs_and_how_to_resume(store, no_squeue):
    import pickle

    configs = [tiny(0), tiny(1), tiny(2)]
    with pytest.raises(SlurmGridError) as raised:
        run_grid(configs, store=store, launcher="slurm", executor=RanAtOnce(store))
    error = raised.value
    assert isinstance(error, GridError) and isinstance(error, RuntimeError)  # as before
    assert set(error.failures) == {configs[1].key(), configs[2].key()}
    assert "SLURM task 5_1 failed (ValueError: lr too high" in error.failures[configs[1].key()]
    assert "SLURM task 5_2 failed (left the queue" in error.failures[configs[2].key()]
    message = str(error)
    assert message.startswith("2 run(s) of the SLURM grid ended without a record: ")
    assert "Submit the same grid again" in message and "stored runs are skipped" in message
    assert "3 runs: 1 stored, 0 pending, 0 running, 2 failed" in message  # the status
    assert "the task's last words" in message  # and the failed task's log tail
    assert str(pickle.loads(pickle.dumps(error))) == message
    from lt_lab.cli import user_errors

    assert isinstance(error, user_errors())  # lt-lab prints it on one line, exit status 2
    again = launch.submit(configs, store=store, executor=FakeExecutor("6"))  # the resume
    assert again.stored == 1 and again.submitted == 2


def test_wait_returns_once_nothing_is_pending_or_running(store, no_squeue):
    configs = [tiny(0), tiny(1)]
    launch.submit(configs, store=store, executor=FakeExecutor("6"))
    no_squeue.update({"6_0": "RUNNING", "6_1": "RUNNING"})
    seen = []

    def report(status):
        seen.append(status.summary())
        no_squeue.clear()  # the next poll: both ended, one with its record
        store.save(fake_record(configs[0]))
        finish(store.root / ".slurm", "6_0")
        finish(store.root / ".slurm", "6_1", "error", "ValueError: nope")

    status = launch.wait(configs, store=store, poll_s=0, report=report)
    assert status.counts()["stored"] == 1 and status.counts()["failed"] == 1
    assert seen[0] == "2 runs: 0 stored, 0 pending, 2 running, 0 failed"
    with pytest.raises(TimeoutError, match="not finished") as waited:
        no_squeue["6_1"] = "RUNNING"
        launch.wait(configs, store=store, poll_s=0, timeout_s=0)
    from lt_lab.cli import user_errors

    assert isinstance(waited.value, user_errors())  # one line from lt-lab, no traceback
    assert "--wait-timeout" in str(waited.value) and "--status" in str(waited.value)


@pytest.mark.usefixtures("synthetic_fashion_mnist")
def test_a_task_runs_its_configs_into_the_store(tmp_path, monkeypatch):
    monkeypatch.setenv("SLURM_ARRAY_JOB_ID", "12")
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "3")
    configs = [tiny(0), tiny(1)]
    entries = [{"kind": c.kind, "key": c.key(), "config": c.to_dict()} for c in configs]
    done = launch.run_task(entries, str(tmp_path / "shared"))
    assert [item["key"] for item in done] == [c.key() for c in configs]
    assert {item["slurm_job_id"] for item in done} == {"12_3"}
    assert sorted(p.stem for p in (tmp_path / "shared").glob("*.json")) == sorted(
        c.key() for c in configs)


@pytest.mark.usefixtures("synthetic_fashion_mnist")
def test_a_failing_run_does_not_stop_the_task_but_fails_it(tmp_path):
    good, other = tiny(0), tiny(1)
    entries = [{"kind": other.kind, "key": "0123456789abcdef", "config": other.to_dict()},
               {"kind": good.kind, "key": good.key(), "config": good.to_dict()}]
    with pytest.raises(RuntimeError, match="1 of 2 runs .* failed") as error:
        launch.run_task(entries, str(tmp_path / "shared"))
    assert "other lt_lab code than the submitter" in str(error.value)
    assert (tmp_path / "shared" / f"{good.key()}.json").exists()


def test_run_grid_names_its_launchers_and_refuses_misplaced_options(store):
    with pytest.raises(ConfigError, match="'local', 'slurm'"):
        run_grid([tiny(0)], store=store, launcher="lsf")
    with pytest.raises(ConfigError, match="partition"):
        run_grid([tiny(0)], store=store, partition="gpu")
    with pytest.raises(ConfigError, match="save=False"):
        run_grid([tiny(0)], store=store, launcher="slurm", save=False)


def test_the_command_line_options_reach_the_launcher():
    args = build_parser().parse_args([
        "grid", "g.json", "--launcher", "slurm", "--partition", "gpu", "--time", "90",
        "--gpus-per-task", "1", "--cpus-per-task", "4", "--runs-per-task", "3", "--setup",
        "module load x", "--sbatch", "account=lab", "--sbatch", "qos=high"])
    options = launch.options_from_args(args)
    assert options == launch.SlurmOptions(partition="gpu", time_min=90, gpus_per_task=1,
                                          cpus_per_task=4, pack=3, setup=("module load x",),
                                          sbatch={"account": "lab", "qos": "high"})
    assert build_parser().parse_args(["grid", "g.json"]).launcher == "local"
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        launch.options_from_args(build_parser().parse_args(["grid", "g", "--sbatch", "x"]))


def test_status_from_the_command_line(tmp_path, capsys, no_squeue):
    from lt_lab.cli import main

    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps([{"profile": "smoke", **TINY, "seed": s} for s in (0, 1)]))
    assert main(["grid", str(grid), "--status", "--results-dir", str(tmp_path / "r")]) == 0
    assert "2 runs: 0 stored, 0 pending, 0 running, 0 failed, 2 unsubmitted" in (
        capsys.readouterr().out)


@pytest.mark.parametrize("index", ["[1, 2]", '{"job_id": "9"}', '{"job_id": "9", "tasks": 3}',
                                   '{"job_id": "9", "tasks": [{"job_id": "../../x", '
                                   '"keys": []}]}', '{"job_id": "9", "tasks": [{"keys": 1}]}',
                                   '{"job_id": "9", "submitted": "yesterday", "tasks": []}',
                                   "{ torn"])
def test_a_malformed_submission_index_is_named_and_status_goes_on(store, no_squeue, capsys,
                                                                  index, tmp_path):
    configs = [tiny(0), tiny(1)]
    launch.submit(configs[:1], store=store, executor=FakeExecutor("5"))
    (store.root / ".slurm" / "submissions" / "9.json").write_text(index)
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps([{"profile": "smoke", **TINY, "seed": s} for s in (0, 1)]))
    from lt_lab.cli import main

    code = main(["grid", str(grid), "--status", "--results-dir", str(store.root)])
    captured = capsys.readouterr()
    assert code in (0, 1) and "Traceback" not in captured.err
    assert "2 runs:" in captured.out and "1 unsubmitted" in captured.out
    if "submitted" not in index:
        assert "9.json" in captured.err


def test_nothing_is_submitted_when_the_index_could_not_be_written(store, no_squeue, tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    executor = FakeExecutor("4")
    with pytest.raises(ConfigError, match=f"cannot write submitit's folder {blocked}"):
        launch.submit([tiny(0)], store=store, folder=blocked, executor=executor)
    assert executor.calls == []
