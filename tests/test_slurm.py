"""``lt-lab grid --launcher slurm`` against a real SLURM: a single node on this machine.

CI (``.ci/run``) starts it with ``scripts/slurm_local.sh start`` before ``make test``; run
alone, the fixture below starts it (and stops it afterwards). Where SLURM cannot start (no
root, no Debian packages), the tests fail with the script's message and the daemons' log
tails: they never skip. Deselect them with ``-m "not slurm"`` on a machine that cannot run
SLURM.

What they prove: a 4-run ``smoke`` grid submitted from the command line becomes one job
array of four tasks that ``slurmd`` runs (each task in its own process, writing to the
shared store given on the command line); the four records land; ``--status`` reads the
state back; SLURM's job-completion log shows the four array tasks COMPLETED on this node;
resubmitting the grid submits nothing. The same from Python: ``run_grid(configs,
launcher="slurm", pack=2)`` packs two runs into each task and returns the records.
"""

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fixtures_synthetic import synthetic_fashion_mnist  # noqa: F401

from lt_lab import launch
from lt_lab.cli import grid_config
from lt_lab.grid import run_grid
from lt_lab.results import ResultsStore

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "slurm_local.sh"
TINY = {"profile": "smoke", "model": "mlp", "epochs": 1, "n_max": 20, "imbalance_ratio": 10,
        "test_per_class": 5, "batch_size": 32}  # the synthetic set: seconds a run
TIMEOUT_S = 300


def sh(*command: str, check: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=check)


def node_ready() -> bool:
    try:
        states = sh("sinfo", "-h", "-o", "%T").stdout.split()
    except OSError:
        return False
    return any(state.rstrip("*~#") in ("idle", "mixed", "allocated") for state in states)


def daemon_logs() -> str:
    result = sh("bash", str(SCRIPT), "logs")
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def slurm():
    """A single-node SLURM that answers: CI's, or one started (and stopped) here."""
    if node_ready():
        yield
        return
    started = sh("bash", str(SCRIPT), "start")
    if started.returncode != 0 or not node_ready():
        pytest.fail("a single-node SLURM could not be started by scripts/slurm_local.sh "
                    "start (it needs root or passwordless sudo, and Debian's slurmd, "
                    "slurmctld and munge):\n" + started.stdout + started.stderr,
                    pytrace=False)
    yield
    sh("bash", str(SCRIPT), "stop")


def cli(*arguments: str) -> subprocess.CompletedProcess:
    """``lt-lab`` as a user runs it: a separate process (sbatch inherits its environment,
    LT_LAB_DATA of the synthetic set included)."""
    return sh(sys.executable, "-m", "lt_lab", *arguments)


def job_completions(job_id: str) -> list[str]:
    """SLURM's job-completion log lines (jobcomp/filetxt) of the array ``job_id``."""
    config = sh("scontrol", "show", "config").stdout
    location = re.search(r"^JobCompLoc\s*=\s*(\S+)", config, re.MULTILINE)
    assert location, "the job-completion log is not configured (JobCompLoc)"
    path = Path(location.group(1))
    lines = path.read_text().splitlines() if path.exists() else []
    return [line for line in lines if f"ArrayJobId={job_id} " in line
            or line.startswith(f"JobId={job_id} ")]


def wait_or_fail(configs, store) -> launch.GridStatus:
    try:
        status = launch.wait(configs, store=store, timeout_s=TIMEOUT_S, poll_s=1)
    except TimeoutError as error:
        pytest.fail(f"{error}\n{sh('squeue').stdout}\n{daemon_logs()}", pytrace=False)
    if status.counts()["stored"] != len(configs):
        pytest.fail(status.format() + "\n" + daemon_logs(), pytrace=False)
    return status


def tasks_ended(folder: Path, tasks: list[str], job_id: str) -> list[str]:
    """Wait until every task has left SLURM's queue with its result file (a run's record
    lands before its task ends) and the job-completion log has a line for each; those lines."""
    deadline = time.monotonic() + 60
    while True:
        queue = launch.slurm_queue()
        states = [launch.task_state(folder, task, queue)[0] for task in tasks]
        completions = job_completions(job_id)
        if states == ["done"] * len(tasks) and len(completions) == len(tasks):
            return completions
        if time.monotonic() > deadline:
            pytest.fail(f"tasks {tasks}: states {states}, job-completion lines {completions}"
                        f"\n{daemon_logs()}", pytrace=False)
        time.sleep(0.5)


@pytest.mark.usefixtures("slurm", "synthetic_fashion_mnist")
def test_a_grid_runs_as_a_job_array_and_a_resubmission_submits_nothing(tmp_path, capsys):
    entries = [{**TINY, "seed": seed} for seed in range(4)]
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps(entries))
    results = tmp_path / "shared-results"
    configs = [grid_config(entry) for entry in entries]
    store = ResultsStore(results)

    submitted = cli("grid", str(grid), "--launcher", "slurm", "--results-dir", str(results),
                    "--time", "10")
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    match = re.search(r"submitted 4 runs as SLURM job (\d+) \(4 tasks", submitted.stdout)
    assert match, submitted.stdout + submitted.stderr
    job_id = match.group(1)

    status = cli("grid", str(grid), "--status", "--results-dir", str(results))
    assert status.stdout.startswith("4 runs: "), status.stdout + status.stderr

    wait_or_fail(configs, store)
    assert sorted(path.stem for path in results.glob("*.json")) == sorted(
        config.key() for config in configs)
    assert all(store.load(config) is not None for config in configs)

    # four array tasks of one array, each run by slurmd in its own process, completed
    index = json.loads((results / ".slurm" / "submissions" / f"{job_id}.json").read_text())
    tasks = [task["job_id"] for task in index["tasks"]]
    assert tasks == [f"{job_id}_{i}" for i in range(4)]
    completions = tasks_ended(results / ".slurm", tasks, job_id)
    assert all("JobState=COMPLETED" in line for line in completions), completions
    assert sorted(re.search(r"ArrayTaskId=(\d+)", line).group(1) for line in completions) == [
        "0", "1", "2", "3"]

    done = cli("grid", str(grid), "--status", "--results-dir", str(results))
    assert done.returncode == 0 and done.stdout.startswith("4 runs: 4 stored, 0 pending"), (
        done.stdout + done.stderr)
    again = cli("grid", str(grid), "--launcher", "slurm", "--results-dir", str(results))
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.startswith("nothing to submit (4 stored"), again.stdout
    assert sorted(p.name for p in (results / ".slurm" / "submissions").iterdir()) == [
        f"{job_id}.json"]

    from submitit.core.utils import JobPaths, pickle_load

    ran = []  # what each task returned: the runs it made, where, under which SLURM job id
    for task in tasks:
        outcome, value = pickle_load(JobPaths(results / ".slurm", task, 0).result_pickle)
        assert outcome == "success", value
        ran.extend(value)
    assert sorted(item["slurm_job_id"] for item in ran) == tasks
    hosts = sorted({item["host"] for item in ran})
    with capsys.disabled():  # into CI's log: the jobs ran under slurmd
        print(f"\nSLURM job {job_id}: 4 array tasks COMPLETED under slurmd on "
              f"{', '.join(hosts)} (job-completion log: {len(completions)} lines); "
              f"resubmission: {again.stdout.strip()}")


@pytest.mark.usefixtures("slurm", "synthetic_fashion_mnist")
def test_run_grid_with_the_slurm_launcher_packs_runs_and_returns_records(tmp_path):
    configs = [grid_config({**TINY, "seed": seed}) for seed in (10, 11)]
    store = ResultsStore(tmp_path / "shared-results")
    records = run_grid(configs, launcher="slurm", store=store, pack=2, time_min=10,
                       timeout_s=TIMEOUT_S)
    assert [record["key"] for record in records] == [config.key() for config in configs]
    (submission,) = (store.root / ".slurm" / "submissions").glob("*.json")
    tasks = json.loads(submission.read_text())["tasks"]
    assert [task["keys"] for task in tasks] == [[config.key() for config in configs]]
