"""The attacks a shared store and a careless command line invite, each reproduced.

* a newline in a SLURM option would become a command of the bash job script;
* ``lt-lab grid --status`` would unpickle files any member of the store's group can plant;
* a record's key would be a path (``../x``), or another run's record would be served.

Each test runs the attack and checks that it is refused, and that nothing it asked for
happened.
"""

import json
import os
import pickle
import sys
from pathlib import Path

import pytest
from submitit.core.utils import JobPaths

from lt_lab import launch
from lt_lab.cli import build_parser, main
from lt_lab.config import make_config
from lt_lab.errors import ConfigError
from lt_lab.results import ResultsStore

TINY = dict(model="mlp", epochs=1, n_max=20, imbalance_ratio=10, test_per_class=5, batch_size=32)


def tiny(seed: int):
    return make_config("smoke", **TINY, seed=seed)


def record_of(config) -> dict:
    return {"key": config.key(), "kind": config.kind, "cache_version": 1,
            "config": config.to_dict(), "seed": config.seed, "metrics": {"acc": 0.5},
            "class_names": [], "class_counts": [], "per_class_acc": []}


# ---------------------------------------------------------------- SLURM options


def slurm_args(tmp_path, *options: str):
    grid = tmp_path / "grid.json"
    grid.write_text('[{"profile": "smoke"}]')
    return build_parser().parse_args(["grid", str(grid), "--launcher", "slurm", *options])


@pytest.mark.parametrize("options, named", [
    (["--sbatch", "account=lab\ntouch /tmp/owned #"], "--sbatch account"),
    (["--sbatch", "account=lab\rqos=high"], "--sbatch account"),
    (["--job-name", "grid\ntouch /tmp/owned"], "--job-name"),
    (["--partition", "gpu\n#SBATCH --qos=high"], "--partition"),
    (["--setup", "module load cuda\nrm -rf ~"], "--setup"),
])
def test_a_control_character_in_a_slurm_option_is_refused_by_name(tmp_path, options, named):
    args = slurm_args(tmp_path, *options)
    with pytest.raises(ConfigError, match="control character") as caught:
        launch.options_from_args(args)
    assert named in str(caught.value)


@pytest.mark.parametrize("assignment", ["acc ount=lab", "account;touch x=1", "a\nb=1",
                                        "--account=lab", "qos$(id)=high"])
def test_an_sbatch_key_outside_letters_digits_and_dashes_is_refused(tmp_path, assignment):
    with pytest.raises(ConfigError, match="not an sbatch option's name"):
        launch.options_from_args(slurm_args(tmp_path, f"--sbatch={assignment}"))


def test_a_newline_attack_never_reaches_the_job_script(tmp_path):
    """What the attack did: submitit's script got a line of its own, which bash ran."""
    from submitit.slurm.slurm import _make_sbatch_string

    with pytest.raises(ConfigError):
        launch.SlurmOptions(sbatch={"account": "lab\ntouch owned #"})
    options = launch.SlurmOptions(job_name="lt-lab grid", sbatch={"account": "lab",
                                                                 "qos-name": "high"})
    script = _make_sbatch_string(command="echo hi", folder=tmp_path,
                                 **options.executor_parameters())
    assert "#SBATCH --account=lab" in script and "#SBATCH --qos-name=high" in script
    assert "touch" not in script


def test_the_command_line_names_the_bad_slurm_option_without_a_traceback(tmp_path, capsys):
    grid = tmp_path / "grid.json"
    grid.write_text('[{"profile": "smoke"}]')
    code = main(["grid", str(grid), "--launcher", "slurm", "--results-dir", str(tmp_path / "r"),
                 "--job-name", "x\ntouch owned"])
    error = capsys.readouterr().err
    assert code == 2 and "--job-name" in error and "Traceback" not in error


# ---------------------------------------------------------------- result pickles


class Plant:
    """A pickle that runs code when loaded: writes a file."""

    def __init__(self, target: Path):
        self.target = str(target)

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


def test_status_never_runs_code_from_a_planted_result_file(tmp_path):
    store = ResultsStore(tmp_path / "store")
    config = tiny(0)
    folder = store.root / ".slurm"
    launch.submit([config], store=store, executor=FakeExecutor("77"))
    owned = tmp_path / "owned"
    result = JobPaths(folder, job_id="77", task_id=0).result_pickle
    result.write_bytes(pickle.dumps(("success", Plant(owned))))
    status = launch.grid_status([config], store, queue={})
    assert not owned.exists()
    assert status.runs[config.key()][0] == "failed"
    assert "unreadable result file" in status.format() and "posix.system" in status.format()


def test_status_reads_the_outcomes_submitit_writes(tmp_path):
    from submitit.core.utils import cloudpickle_dump

    path = tmp_path / "result.pkl"
    cloudpickle_dump(("success", [{"key": "0123456789abcdef", "seconds": 1.5}]), path)
    assert launch.read_outcome(path) == ("success", [{"key": "0123456789abcdef",
                                                      "seconds": 1.5}])
    cloudpickle_dump(("error", "Traceback ...\nValueError: bad"), path)
    assert launch.read_outcome(path)[0] == "error"


class FakeJob:
    def __init__(self, job_id):
        self.job_id = job_id


class FakeExecutor:
    def __init__(self, array_id):
        self.array_id = array_id

    def map_array(self, function, *iterables):
        calls = list(zip(*iterables, strict=True))
        if len(calls) == 1:
            return [FakeJob(self.array_id)]
        return [FakeJob(f"{self.array_id}_{i}") for i in range(len(calls))]


# ---------------------------------------------------------------- a record's key


def test_a_record_keyed_as_a_path_is_never_written(tmp_path):
    store = ResultsStore(tmp_path / "store")
    record = {**record_of(tiny(0)), "key": "../x"}
    with pytest.raises(ConfigError, match="not 16 hex digits"):
        store.save(record)
    assert not (tmp_path / "x.json").exists() and not (tmp_path / "store").exists()


def test_gpu_session_import_refuses_a_record_keyed_outside_the_store(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    try:
        import gpu_session
    finally:
        sys.path.pop(0)
    archive = tmp_path / "records.jsonl"
    archive.write_text(json.dumps({"type": "run", "record": {**record_of(tiny(0)),
                                                             "key": "../x"}}) + "\n")
    with pytest.raises(ConfigError, match="not 16 hex digits"):
        gpu_session.import_archive(archive, tmp_path / "store", tmp_path / "bench")
    assert not (tmp_path / "x.json").exists()


def test_a_record_under_another_configs_key_is_reported_and_absent(tmp_path):
    store = ResultsStore(tmp_path)
    seed0, seed1 = tiny(0), tiny(1)
    store.save(record_of(seed0))
    planted = {**record_of(seed0), "key": seed1.key()}  # seed 0's record as seed 1's
    with pytest.raises(ConfigError, match="not the key of its config"):
        store.save(planted)
    store.path(seed1.key()).write_text(json.dumps(planted))
    with pytest.warns(UserWarning, match=f"{seed1.key()}.json.*not the key of its config"):
        assert store.load(seed1) is None
    assert [record["seed"] for record in store.records()] == [0]


def test_a_record_copied_under_another_file_name_is_reported_and_absent(tmp_path):
    store = ResultsStore(tmp_path)
    seed0, seed1 = tiny(0), tiny(1)
    store.path(seed1.key()).write_text(json.dumps(record_of(seed0)))  # key field left as is
    with pytest.warns(UserWarning, match="is not its file's name"):
        assert store.load(seed1) is None


def test_every_stored_record_passes_the_key_check():
    from lt_lab.results import check_record

    folder = Path(__file__).resolve().parents[1] / "data" / "results"
    paths = sorted(folder.glob("*.json"))
    for path in paths:
        record = json.loads(path.read_text())
        check_record(record)
        assert path.stem == record["key"]


def test_gpu_session_import_refuses_a_bench_record_named_outside_its_folder(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    try:
        import gpu_session
    finally:
        sys.path.pop(0)
    archive = tmp_path / "records.jsonl"
    archive.write_text(json.dumps({"type": "bench", "record": {
        "device_kind": "../../escaped", "created": "2026-12-01T10:15:00"}}) + "\n")
    with pytest.raises(ConfigError, match="not a plain file name"):
        gpu_session.import_archive(archive, tmp_path / "store", tmp_path / "a" / "bench")
    assert not list(tmp_path.rglob("escaped*"))
