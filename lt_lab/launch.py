"""Grids on a SLURM cluster: a grid's missing runs as one job array, through submitit.

    lt-lab grid grid.json --launcher slurm --partition gpu --time 300 --gpus-per-task 1
    lt-lab grid grid.json --status
    run_grid(configs, launcher="slurm", partition="gpu", time_min=300, gpus_per_task=1)

lt_lab schedules nothing itself: `submitit <https://github.com/facebookincubator/submitit>`_
writes the sbatch script and pickles each task's call and result, and SLURM runs them. What
lt_lab adds on top:

* **Only the missing runs are submitted.** Stored runs are skipped (:func:`lt_lab.grid.missing`)
  and so are runs that an earlier submission has pending or running, so resubmitting the
  same grid finishes what a cancelled or timed-out job left, and submits nothing once every
  run is stored.
* **Each array task runs** ``pack`` **configs** (``--runs-per-task``, default 1) one after
  another, each through :func:`lt_lab.grid.run` in the task's own process. A config travels
  as its ``to_dict()`` and kind, is rebuilt with :func:`lt_lab.config.config_from_dict` and
  must have the same key on the node (else the node runs other code than the submitter, and
  the task says so). The record lands in the same results store: its path travels with the
  task.
* **Every submission is indexed** in ``<store>/.slurm/submissions/<job id>.json`` (which task
  runs which keys), beside submitit's scripts, pickles and logs in ``<store>/.slurm/``. So
  ``--status`` tells, for any grid and from any login node, how many of its runs are stored,
  pending, running or failed: from the store, ``squeue`` (no accounting database needed) and
  submitit's result files, with the log tails of failed tasks.

The store (and so ``.slurm/``) must be on a file system every node sees; records are
written by rename within the store's folder and readable by the group
(:func:`lt_lab.io.write_json_atomic`). submitit is the ``cluster`` extra:
``pip install "lt-lab[cluster]"``; nothing here imports it until a grid is submitted.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import socket
import subprocess
import sys
import time
import traceback
import warnings
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from lt_lab.config import config_from_dict
from lt_lab.errors import ConfigError, SlurmGridError, SlurmUnavailableError, check_positive
from lt_lab.grid import missing, register_launcher, run
from lt_lab.io import unwritable, write_json_atomic
from lt_lab.results import RESULTS_ENV, ResultsStore

SLURM_FOLDER = ".slurm"  # under the store: submitit's files and the submission index
STATES = ("stored", "pending", "running", "failed", "unsubmitted", "unknown")
QUEUED = {"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD",
          "SPECIAL_EXIT"}
ACTIVE = {"RUNNING", "COMPLETING", "SUSPENDED", "STOPPED", "SIGNALING", "STAGE_OUT",
          "RESIZING"}
ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)\b")
SBATCH_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")  # an option name: submitit writes it bare
JOB_ID = re.compile(r"\d+(_\d+)?")  # a SLURM job id, or an array task's: <array>_<index>
CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # a newline would end the #SBATCH line: a command


@dataclass(frozen=True)
class SlurmOptions:
    """What each array task asks SLURM for, and how the grid is cut into tasks.

    ``time_min`` is the limit of one task (``pack`` runs); ``gpus_per_task`` asks for
    ``--gres=gpu:N``; ``setup`` lines run in the job script before the task (``module load``,
    ``source venv/bin/activate``); ``sbatch`` passes any other option as ``--KEY=VALUE``
    (``{"account": "lab", "qos": "high", "constraint": "a100"}``).
    """

    partition: str | None = None
    time_min: int = 60
    gpus_per_task: int = 0
    cpus_per_task: int = 1
    mem_gb: float | None = None
    array_parallelism: int = 64
    pack: int = 1
    job_name: str = "lt-lab"
    setup: tuple[str, ...] = ()
    sbatch: dict = field(default_factory=dict)

    def __post_init__(self):
        check_positive("time_min", self.time_min)
        check_positive("gpus_per_task", self.gpus_per_task, inclusive=True)
        check_positive("cpus_per_task", self.cpus_per_task)
        check_positive("array_parallelism", self.array_parallelism)
        check_positive("pack (--runs-per-task)", self.pack)
        if self.mem_gb is not None:
            check_positive("mem_gb", self.mem_gb)
        check_line("job_name (--job-name)", self.job_name)
        if self.partition is not None:
            check_line("partition (--partition)", self.partition)
        for line in self.setup:
            check_line("setup (--setup)", line)
        for key, value in self.sbatch.items():
            check_sbatch_option(key, value)

    def executor_parameters(self) -> dict:
        """submitit's ``SlurmExecutor.update_parameters`` keywords."""
        parameters = dict(job_name=self.job_name, time=int(self.time_min), nodes=1,
                          ntasks_per_node=1, cpus_per_task=int(self.cpus_per_task),
                          array_parallelism=int(self.array_parallelism))
        if self.partition:
            parameters["partition"] = self.partition
        if self.gpus_per_task:
            parameters["gres"] = f"gpu:{int(self.gpus_per_task)}"
        if self.mem_gb:
            parameters["mem"] = f"{int(round(self.mem_gb * 1024))}MB"
        if self.setup:
            parameters["setup"] = list(self.setup)
        if self.sbatch:
            parameters["additional_parameters"] = dict(self.sbatch)
        return parameters


def check_line(option: str, value) -> None:
    """Raise ConfigError unless ``value`` is one line of text: submitit writes each option
    into the bash job script, and ``shlex.quote`` does not stop a newline, after which the
    rest of the value would be a command of its own (and would end ``#SBATCH`` parsing)."""
    if not isinstance(value, str):
        raise ConfigError(f"{option}={value!r} must be text")
    if CONTROL.search(value):
        raise ConfigError(f"{option}={value!r} holds a control character (a newline, tab or "
                          "the like): a SLURM option must be one line of printable text")


def check_sbatch_option(key, value) -> None:
    """An ``--sbatch KEY=VALUE`` option: KEY of letters, digits, ``_`` and ``-`` (submitit
    writes it unquoted), VALUE one line of text or a number."""
    if not isinstance(key, str) or not SBATCH_KEY.fullmatch(key):
        raise ConfigError(f"--sbatch key {key!r} is not an sbatch option's name: a letter, then "
                          "letters, digits, '_' and '-' only, e.g. account=lab")
    if not isinstance(value, (int, float)):
        check_line(f"--sbatch {key}", value)


def slurm_folder(store: ResultsStore) -> Path:
    return store.root / SLURM_FOLDER


def _submitit():
    try:
        import submitit
    except ImportError:
        raise ConfigError('the SLURM launcher needs submitit: pip install "lt-lab[cluster]" '
                          '(or pip install "submitit>=1.5")') from None
    return submitit


# --- in the array task ---------------------------------------------------------------------


def run_task(entries: list[dict], results_dir: str, cache: bool = True) -> list[dict]:
    """Run the configs of one array task one after another into the store at ``results_dir``.

    ``entries`` are ``{"kind", "key", "config"}`` dicts. A run that fails does not stop the
    others; the task raises at the end (so SLURM and submitit mark it failed) naming them.
    """
    os.environ[RESULTS_ENV] = str(results_dir)  # anything the run starts writes there too
    cpus = os.environ.get("SLURM_CPUS_PER_TASK")
    if cpus and cpus.isdigit():
        import torch

        torch.set_num_threads(int(cpus))
    store = ResultsStore(results_dir)
    task = os.environ.get("SLURM_ARRAY_JOB_ID", os.environ.get("SLURM_JOB_ID", "-"))
    if "SLURM_ARRAY_TASK_ID" in os.environ:
        task += f"_{os.environ['SLURM_ARRAY_TASK_ID']}"
    host = socket.gethostname()
    done, failures = [], []
    for entry in entries:
        started = time.perf_counter()
        try:
            config = config_from_dict(entry["config"], entry["kind"])
            if config.key() != entry["key"]:
                raise ConfigError(f"config {entry['key']} has key {config.key()} on {host}: "
                                  "the node runs other lt_lab code than the submitter")
            record = run(config, cache=cache, store=store, progress=False)
        except Exception as error:  # noqa: BLE001 (the next run goes on; the task fails below)
            failures.append(f"{entry['key']}: {type(error).__name__}: {error}")
            traceback.print_exc()
            continue
        seconds = time.perf_counter() - started
        print(f"lt-lab task {task} on {host}: {record['key']} stored in {store.root} "
              f"({seconds:.1f} s)", flush=True)
        done.append({"key": record["key"], "host": host, "slurm_job_id": task,
                     "seconds": round(seconds, 2)})
    if failures:
        raise RuntimeError(f"{len(failures)} of {len(entries)} runs of task {task} failed:\n"
                           + "\n".join(failures))
    return done


# --- the submission index and task states ---------------------------------------------------


def _index(folder: Path) -> list[dict]:
    """Every submission made into ``folder``, oldest first. A file that cannot be read, or
    is not a submission as :func:`submit` writes it, is reported (named) and left out: its
    tasks count as unsubmitted."""
    found = []
    for path in sorted((folder / "submissions").glob("*.json")):
        try:
            found.append(_submission(json.loads(path.read_text())))
        except (OSError, ValueError) as error:
            warnings.warn(f"ignoring the SLURM submission index {path}: {error}", stacklevel=2)
    return sorted(found, key=lambda entry: (entry["submitted"], entry["job_id"]))


def _submission(entry) -> dict:
    """``entry`` of the index checked: a job id, a time, and tasks of job ids and keys
    (ValueError naming what is wrong)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("tasks"), list):
        raise ValueError("not a submission (a JSON object with a list of tasks)")
    tasks = []
    for task in entry["tasks"]:
        if not (isinstance(task, dict) and JOB_ID.fullmatch(str(task.get("job_id")))
                and isinstance(task.get("keys"), list)
                and all(isinstance(key, str) for key in task["keys"])):
            raise ValueError(f"a task that is not {{'job_id': '<digits>[_<digits>]', "
                             f"'keys': [...]}}: {str(task)[:80]}")
        tasks.append({"job_id": str(task["job_id"]), "keys": task["keys"]})
    submitted = entry.get("submitted", 0)
    name = entry.get("job_name", "lt-lab")
    return {**entry, "job_id": str(entry.get("job_id")), "tasks": tasks,
            "submitted": submitted if isinstance(submitted, (int, float)) else 0,
            "job_name": name if isinstance(name, str) and not CONTROL.search(name)
            else "lt-lab"}


def slurm_queue(job_names: set[str] | None = None) -> dict[str, str] | None:
    """``{task job id: SLURM state}`` of the jobs SLURM still knows (queued, running and
    recently ended: ``squeue -t all``), array tasks one by one; None where squeue cannot answer."""
    if shutil.which("squeue") is None:
        return None
    command = ["squeue", "-h", "-r", "-t", "all", "-o", "%i|%T"]
    if job_names:
        command.append("--name=" + ",".join(sorted(job_names)))
    try:
        output = subprocess.run(command, capture_output=True, text=True, timeout=120,
                                check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    queue = {}
    for line in output.splitlines():
        if "|" in line:
            job_id, state = line.strip().split("|", 1)
            queue[job_id] = state.split()[0].rstrip("+")
    return queue


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class PlainUnpickler(pickle.Unpickler):
    """Unpickles plain data only: strings, numbers, lists, tuples, dicts, sets. Any global
    (a class or function: how a pickle runs code when it is loaded) is refused, so a result
    file planted in a group-writable store cannot run code as whoever reads the status."""

    def find_class(self, module: str, name: str):
        raise pickle.UnpicklingError(f"it names {module}.{name}: a result file holds plain "
                                     "data only, and nothing else is loaded")


def read_outcome(path: Path) -> tuple[str, object]:
    """submitit's result file of a task, ``("success", value)`` or ``("error", traceback
    text)``, read without executing anything (:class:`PlainUnpickler`); ValueError or
    UnpicklingError for anything else."""
    with open(path, "rb") as handle:
        outcome = PlainUnpickler(handle).load()
    if not (isinstance(outcome, tuple) and len(outcome) == 2
            and outcome[0] in ("success", "error")):
        raise ValueError("not a submitit result: ('success' or 'error', value)")
    return outcome


def task_state(folder: Path, job_id: str, queue: dict[str, str] | None) -> tuple[str, str]:
    """``(state, detail)`` of one array task: pending, running, done, failed or unknown.

    SLURM's queue says pending or running; once the task has left the queue, submitit's
    result file says done or failed (with the error); a task that left without a result was
    cancelled, timed out, ran out of memory or lost its node.
    """
    slurm = (queue or {}).get(job_id)
    if slurm in QUEUED:
        return "pending", slurm
    if slurm in ACTIVE:
        return "running", slurm
    from submitit.core.utils import JobPaths

    result = JobPaths(folder, job_id=job_id, task_id=0).result_pickle
    if result.exists():
        try:
            outcome, value = read_outcome(result)
        except Exception as error:  # noqa: BLE001 (a torn, foreign or hostile pickle)
            return "failed", f"unreadable result file {result}: {error}"
        if outcome == "success":
            return "done", "completed"
        lines = str(value).splitlines()
        raised = [i for i, line in enumerate(lines) if ERROR_LINE.match(line)]
        return "failed", " ".join(lines[raised[-1]:raised[-1] + 2]) if raised else "an error"
    if slurm:
        return "failed", f"SLURM state {slurm}, no result file"
    if queue is None:
        return "unknown", "squeue is not available here"
    return "failed", ("left the queue without a result (cancelled, timed out, out of memory "
                      "or lost its node)")


@dataclass
class GridStatus:
    """Where each run of a grid stands, and what went wrong with the failed tasks."""

    runs: dict[str, tuple[str, str | None]]  # key -> (state, task job id or None)
    failed_tasks: dict[str, dict] = field(default_factory=dict)  # job id -> detail, log...
    folder: Path | None = None

    def counts(self) -> dict[str, int]:
        counted = Counter(state for state, _ in self.runs.values())
        return {state: counted.get(state, 0) for state in STATES}

    @property
    def finished(self) -> bool:
        counts = self.counts()
        return not (counts["pending"] or counts["running"] or counts["unknown"])

    def summary(self) -> str:
        counts = self.counts()
        return f"{len(self.runs)} runs: " + ", ".join(
            f"{counts[state]} {state}" for state in STATES if counts[state] or state in
            ("stored", "pending", "running", "failed"))

    def format(self, log_lines: int = 12) -> str:
        """The counts, then each failed task: its runs, its error and its log's tail."""
        lines = [self.summary()]
        for job_id, failure in sorted(self.failed_tasks.items()):
            lines.append(f"failed task {job_id} ({', '.join(failure['keys'])}): "
                         f"{failure['detail']}")
            for name in ("stderr", "stdout"):
                tail = "\n".join(failure[name].splitlines()[-log_lines:])
                if tail:
                    lines.append(f"  last lines of {failure[name + '_path']}:")
                    lines.extend("    " + line for line in tail.splitlines())
                    break
        return "\n".join(lines)


def grid_status(configs, store: ResultsStore | None = None, folder: Path | None = None,
                queue: dict[str, str] | None | bool = True) -> GridStatus:
    """How many runs of ``configs`` are stored, pending, running, failed or unsubmitted.

    ``queue``: SLURM's task states (as :func:`slurm_queue` returns); True asks squeue.
    """
    store = store or ResultsStore()
    folder = Path(folder) if folder is not None else slurm_folder(store)
    configs = {config.key(): config for config in configs}
    submissions = _index(folder) if folder.exists() else []
    latest = {}  # key -> (job id, task's keys), the newest submission wins
    for submission in submissions:
        for task in submission["tasks"]:
            for key in task["keys"]:
                latest[key] = (task["job_id"], task["keys"])
    if queue is True:
        names = {submission.get("job_name", "lt-lab") for submission in submissions}
        queue = slurm_queue(names) if latest else {}
    task_states: dict[str, tuple[str, str]] = {}
    runs = {}
    status = GridStatus(runs, folder=folder)
    for key, config in configs.items():
        if store.load(config) is not None:
            runs[key] = ("stored", latest.get(key, (None,))[0])
            continue
        if key not in latest:
            runs[key] = ("unsubmitted", None)
            continue
        job_id, task_keys = latest[key]
        if job_id not in task_states:
            task_states[job_id] = task_state(folder, job_id, queue)
        state, detail = task_states[job_id]
        if state == "done":  # the task succeeded, yet this run's record is not here
            state, detail = "failed", f"the task ended but {key} is not in {store.root}"
        runs[key] = (state, job_id)
        if state == "failed":
            _record_failure(status, folder, job_id, task_keys, detail)
    return status


def _record_failure(status: GridStatus, folder: Path, job_id: str, keys: list[str],
                    detail: str) -> None:
    if job_id in status.failed_tasks:
        return
    from submitit.core.utils import JobPaths

    paths = JobPaths(folder, job_id=job_id, task_id=0)
    status.failed_tasks[job_id] = dict(keys=keys, detail=detail, stderr=_tail(paths.stderr),
                                       stdout=_tail(paths.stdout),
                                       stderr_path=str(paths.stderr),
                                       stdout_path=str(paths.stdout))


# --- submitting ----------------------------------------------------------------------------


@dataclass
class Submission:
    """What one call of :func:`submit` sent: the array's job id and its tasks' keys."""

    job_id: str | None
    tasks: list[dict]  # {"job_id": ..., "keys": [...]} per array task
    stored: int  # runs of the grid already stored (skipped)
    in_flight: int  # runs pending or running from an earlier submission (skipped)
    folder: Path
    options: SlurmOptions

    @property
    def submitted(self) -> int:
        return sum(len(task["keys"]) for task in self.tasks)

    def describe(self) -> str:
        skipped = f"{self.stored} stored, {self.in_flight} pending or running already"
        if not self.tasks:
            return f"nothing to submit ({skipped})"
        where = f" on partition {self.options.partition}" if self.options.partition else ""
        tasks = f"{len(self.tasks)} task{'s' if len(self.tasks) > 1 else ''}"
        return (f"submitted {self.submitted} runs as SLURM job {self.job_id} ({tasks} of "
                f"up to {self.options.pack} run(s){where}; {skipped}); "
                f"logs in {self.folder.resolve()}")


def submit(configs, *, store: ResultsStore | None = None, cache: bool = True,
           folder: str | Path | None = None, options: SlurmOptions | None = None,
           executor=None, **option_values) -> Submission:
    """Submit the runs of ``configs`` that are neither stored nor pending or running as one
    SLURM job array (``pack`` runs per task); return at once. ``option_values`` are
    :class:`SlurmOptions` fields. ``cache=False`` submits every run (they retrain)."""
    store = store or ResultsStore()
    if options is None:
        options = SlurmOptions(**option_values)
    elif option_values:
        options = replace(options, **option_values)
    folder = Path(folder) if folder is not None else slurm_folder(store)
    configs = list({config.key(): config for config in configs}.values())
    todo = missing(configs, store) if cache else configs
    status = grid_status(todo, store, folder, queue=True if todo else {})
    in_flight = {key for key, (state, _) in status.runs.items()
                 if state in ("pending", "running")}
    todo = [config for config in todo if config.key() not in in_flight]
    entries = [{"kind": config.kind, "key": config.key(), "config": config.to_dict()}
               for config in todo]
    chunks = [entries[start:start + options.pack]
              for start in range(0, len(entries), options.pack)]
    result = Submission(None, [], len(configs) - len(in_flight) - len(todo) if cache else 0,
                        len(in_flight), folder, options)
    if not chunks:
        return result
    store.check_writable()  # the tasks' records land there
    reason = unwritable(folder)
    if reason:  # else jobs would run that no index, and so no --status, knows of
        raise ConfigError(f"cannot write submitit's folder {folder} ({reason}); give "
                          "--slurm-dir a folder you can write")
    if executor is None:
        submitit = _submitit()
        try:
            executor = submitit.SlurmExecutor(folder=folder)
        except RuntimeError as error:  # no srun on this machine
            raise ConfigError(f"cannot submit to SLURM from here: {error}") from None
        executor.update_parameters(**options.executor_parameters())
    folder.mkdir(parents=True, exist_ok=True)
    root = str(store.root.resolve())
    jobs = executor.map_array(run_task, chunks, [root] * len(chunks), [cache] * len(chunks))
    result.tasks = [{"job_id": str(job.job_id), "keys": [entry["key"] for entry in chunk]}
                    for job, chunk in zip(jobs, chunks, strict=True)]
    result.job_id = str(jobs[0].job_id).split("_")[0]
    write_json_atomic(folder / "submissions" / f"{result.job_id}.json", {
        "job_id": result.job_id, "job_name": options.job_name, "submitted": time.time(),
        "results_dir": root, "cache": cache, "tasks": result.tasks,
        "options": {**asdict(options), "setup": list(options.setup)},
        "submitted_by": os.environ.get("USER", str(os.getuid())), "host": socket.gethostname(),
    })
    return result


def wait(configs, *, store: ResultsStore | None = None, folder: str | Path | None = None,
         timeout_s: float | None = None, poll_s: float | None = None,
         report=None) -> GridStatus:
    """Poll until no run of ``configs`` is pending or running; the final :class:`GridStatus`.

    Polls every ``poll_s`` seconds (default: from 1 s, growing to 30 s as the wait lengthens);
    ``report(status)`` is called when the counts change. TimeoutError after ``timeout_s``;
    :class:`~lt_lab.errors.SlurmUnavailableError` where squeue cannot say whether a
    submitted task is still queued or running.
    """
    configs = list(configs)
    started, last = time.monotonic(), None
    while True:
        status = grid_status(configs, store, folder)
        counts = status.counts()
        if counts["unknown"]:
            raise SlurmUnavailableError(_unfollowable(status))
        if report is not None and counts != last:
            report(status)
        last = counts
        if status.finished:
            return status
        waited = time.monotonic() - started
        if timeout_s is not None and waited > timeout_s:
            from lt_lab.errors import GridTimeoutError

            raise GridTimeoutError(
                f"the grid is not finished after {timeout_s:g} s (--wait-timeout): its tasks "
                "go on; follow them with lt-lab grid FILE --status, or wait longer:\n"
                + status.format())
        time.sleep(poll_s if poll_s is not None else min(30.0, 1.0 + waited / 10))


@register_launcher("slurm")
def launch_slurm(configs, *, cache: bool = True, save: bool = True,
                 store: ResultsStore | None = None, progress: bool | None = None,
                 folder: str | Path | None = None, timeout_s: float | None = None,
                 **option_values) -> list[dict]:
    """``run_grid(configs, launcher="slurm", **options)``: submit the missing runs, wait for
    them, and return every config's record in order. SlurmGridError (a GridError) names the
    runs whose tasks failed; SlurmUnavailableError where squeue cannot follow the grid."""
    if not save:
        raise ConfigError("the SLURM launcher's tasks hand their records back through the "
                          "store: save=False cannot work with it")
    store = store or ResultsStore()
    configs = list(configs)
    submission = submit(configs, store=store, cache=cache, folder=folder, **option_values)
    say = (lambda text: print(text, file=sys.stderr, flush=True)) if progress else None
    if say:
        say(submission.describe())
    status = wait(configs, store=store, folder=folder, timeout_s=timeout_s,
                  report=(lambda status: say(status.summary())) if say else None)
    if status.counts()["stored"] < len(status.runs):
        raise SlurmGridError(_unfinished(status), status.format())
    return [store.load(config) for config in configs]


def _unfollowable(status: GridStatus) -> str:
    """Why :func:`wait` cannot tell whether the grid's submitted runs are still queued or
    running, naming their tasks, and where to follow them instead."""
    why = ("squeue (SLURM) is not on this machine's PATH" if shutil.which("squeue") is None
           else "squeue (SLURM) did not answer (is the SLURM controller reachable from here?)")
    tasks = sorted({job_id for state, job_id in status.runs.values() if state == "unknown"})
    return (f"cannot follow the SLURM grid: {why}, so whether its task(s) {', '.join(tasks)} "
            f"are pending, running or ended cannot be told ({status.summary()}). The "
            "submitted jobs go on: follow them from a login node of the cluster, where squeue "
            "answers (lt-lab grid FILE --status), or wait there")


def _unfinished(status: GridStatus) -> dict[str, str]:
    """``{key: its task and why it has no record}`` of each run of a finished grid that is
    not stored (for :class:`~lt_lab.errors.SlurmGridError`)."""
    reasons = {}
    for key, (state, job_id) in status.runs.items():
        if state == "stored":
            continue
        failure = status.failed_tasks.get(job_id)
        if failure is not None:
            reasons[key] = f"SLURM task {job_id} failed ({failure['detail']})"
        elif job_id is not None:
            reasons[key] = f"SLURM task {job_id}: {state}"
        else:
            reasons[key] = f"{state} (no submission in {status.folder} names it)"
    return reasons


# --- the command line (lt-lab grid ... --launcher slurm | --status) --------------------------


def add_arguments(parser) -> None:
    """The ``lt-lab grid`` options for SLURM and for ``--status``."""
    parser.add_argument("--launcher", choices=["local", "slurm"], default="local",
                        help="local: run here, one after another (default); slurm: submit "
                        "the missing runs as a SLURM job array (submitit) and return")
    parser.add_argument("--status", action="store_true",
                        help="how many runs are stored, pending, running, failed (with the "
                        "failed tasks' log tails); trains and submits nothing")
    group = parser.add_argument_group("SLURM (--launcher slurm)")
    defaults = SlurmOptions()
    group.add_argument("--partition", default=None,
                       help="the SLURM partition (default: the cluster's)")
    group.add_argument("--time", dest="time_min", type=int, default=defaults.time_min,
                       help="time limit of one array task, minutes (default %(default)s)")
    group.add_argument("--gpus-per-task", type=int, default=defaults.gpus_per_task,
                       help="GPUs of one array task (default %(default)s)")
    group.add_argument("--cpus-per-task", type=int, default=defaults.cpus_per_task,
                       help="CPU cores of one array task (default %(default)s)")
    group.add_argument("--mem-gb", type=float, default=None,
                       help="memory of one array task, GB (default: the partition's)")
    group.add_argument("--array-parallelism", type=int, default=defaults.array_parallelism,
                       help="array tasks running at once (default %(default)s)")
    group.add_argument("--runs-per-task", type=int, default=defaults.pack, metavar="K",
                       help="runs per array task, one after another (default %(default)s)")
    group.add_argument("--job-name", default=defaults.job_name,
                       help="the SLURM job's name (default %(default)s)")
    group.add_argument("--setup", action="append", default=None, metavar="LINE",
                       help="a shell line run before each task (module load ...); repeatable")
    group.add_argument("--sbatch", action="append", default=None, metavar="KEY=VALUE",
                       help="any other sbatch option (account=lab, qos=high); repeatable")
    group.add_argument("--slurm-dir", default=None,
                       help="submitit's folder (default: <results-dir>/.slurm)")
    group.add_argument("--wait", action="store_true",
                       help="wait until the submitted runs end, then print the records")
    group.add_argument("--wait-timeout", type=float, default=None, metavar="SECONDS",
                       help="--wait: give up after SECONDS (default: never)")


def options_from_args(args) -> SlurmOptions:
    sbatch = {}
    for assignment in args.sbatch or []:
        if "=" not in assignment:
            raise ConfigError(f"--sbatch {assignment!r}: expected KEY=VALUE, e.g. account=lab")
        name, value = assignment.split("=", 1)
        sbatch[name.strip()] = value
    return SlurmOptions(partition=args.partition, time_min=args.time_min,
                        gpus_per_task=args.gpus_per_task, cpus_per_task=args.cpus_per_task,
                        mem_gb=args.mem_gb, array_parallelism=args.array_parallelism,
                        pack=args.runs_per_task, job_name=args.job_name,
                        setup=tuple(args.setup or ()), sbatch=sbatch)


def cmd_grid(args, configs, store: ResultsStore, describe) -> int:
    """``lt-lab grid FILE --status`` and ``lt-lab grid FILE --launcher slurm [--wait]``."""
    folder = Path(args.slurm_dir) if args.slurm_dir else None
    if args.status:
        with warnings.catch_warnings(record=True) as skipped:  # bad files: one line each
            warnings.simplefilter("always")
            status = grid_status(configs, store, folder)
        for warning in skipped:
            print(f"lt-lab: warning: {warning.message}", file=sys.stderr)
        print(status.format())
        return 1 if status.counts()["failed"] else 0
    submission = submit(configs, store=store, cache=not args.no_cache, folder=folder,
                        options=options_from_args(args))
    print(submission.describe())
    if not args.wait:
        if submission.tasks:
            print(f"follow it with: lt-lab grid {args.file} --status"
                  + (f" --results-dir {args.results_dir}" if args.results_dir else ""))
        return 0
    status = wait(configs, store=store, folder=folder, timeout_s=args.wait_timeout,
                  report=lambda status: print(status.summary(), flush=True))
    for config in configs:
        record = store.load(config)
        if record is not None:
            print(f"{record['key']}  {describe(record)}")
    if status.counts()["stored"] < len(status.runs):
        print(status.format())
        return 1
    return 0
