"""A results store shared by several users and machines (a cluster's one ``LT_LAB_RESULTS``).

* records are readable by the group: their mode follows the writer's umask (0644 under 022,
  0664 under 002), never ``mkstemp``'s 0600;
* concurrent writers of the same key, in separate processes with different umasks (and,
  when the tests run as root, different users), leave exactly one valid record and no
  temporary file;
* a record whose mode or owner differs is never reported as corrupt: another user's
  readable record loads, and one this user may not read is reported as not readable by this
  user (and treated as absent), in other words than a corrupt one.

Writers are forked processes (``os.fork``): they share the parent's imports and start at
once, so they really race for the same file.
"""

import json
import os
import pwd
import stat
import tempfile
import time
import warnings
from pathlib import Path

import pytest

from lt_lab.config import config_from_dict
from lt_lab.io import write_json_atomic
from lt_lab.results import ResultsStore

KEY = config_from_dict({}).key()  # the store checks a record's key is its config's
ROOT_USER = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT_USER, reason="changing owners needs root")


def record(writer: int) -> dict:
    return {"key": KEY, "kind": "classification", "cache_version": 1, "config": {},
            "seed": writer, "metrics": {"acc": writer / 100}, "class_names": [],
            "class_counts": [], "per_class_acc": [], "writer": writer}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def shared_dir():
    """A folder other users can reach and write (pytest's tmp_path is private to its user);
    not sticky, as a shared store must not be: replacing another user's record is a rename."""
    folder = Path(tempfile.mkdtemp(prefix="lt-lab-shared-"))
    folder.chmod(0o777)
    yield folder
    for path in folder.rglob("*"):
        if path.is_file():
            path.unlink()
    for path in sorted(folder.rglob("*"), reverse=True):
        path.rmdir()
    folder.rmdir()


def nobody() -> tuple[int, int]:
    entry = pwd.getpwnam("nobody")
    return entry.pw_uid, entry.pw_gid


def in_child(function, *, umask: int | None = None, user: tuple[int, int] | None = None,
             start_at: float | None = None) -> int:
    """Fork; in the child set the umask and user, wait for ``start_at``, run ``function``
    and exit 0 (1 on an exception, its traceback on stderr). The child's pid."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        if umask is not None:
            os.umask(umask)
        if user is not None:
            os.setgroups([])
            os.setgid(user[1])
            os.setuid(user[0])
        if start_at is not None:
            time.sleep(max(0.0, start_at - time.time()))
        function()
        code = 0
    except BaseException:  # noqa: BLE001 (reported on stderr; the parent sees the exit code)
        import traceback

        traceback.print_exc()
    finally:
        os._exit(code)


def join(pids: list[int]) -> list[int]:
    return [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]


@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_a_record_takes_the_mode_the_umask_gives(tmp_path, umask, expected):
    previous = os.umask(umask)
    try:
        path = write_json_atomic(tmp_path / "direct.json", {"a": 1})
        saved = ResultsStore(tmp_path / "store").save(record(1))
    finally:
        os.umask(previous)
    assert mode(path) == expected and mode(saved) == expected


def test_a_shared_store_is_group_readable_by_default(tmp_path):
    previous = os.umask(0o022)  # the usual default
    try:
        saved = ResultsStore(tmp_path).save(record(1))
    finally:
        os.umask(previous)
    assert mode(saved) & stat.S_IRGRP and mode(saved) & stat.S_IROTH


def race(folder: Path, writers: list[dict], rounds: int = 25) -> list[int]:
    """Every writer saves its own record under the same key ``rounds`` times, all at once."""
    start_at = time.time() + 0.5

    def writes(writer):
        def go():
            store = ResultsStore(folder)
            for _ in range(rounds):
                store.save(record(writer))
        return go

    return join([in_child(writes(i), start_at=start_at, **options)
                 for i, options in enumerate(writers)])


def check_one_valid_record(folder: Path, writers: list[dict]) -> dict:
    assert sorted(p.name for p in folder.iterdir()) == [f"{KEY}.json"]  # no temporary left
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stored = ResultsStore(folder).read(folder / f"{KEY}.json")
    assert stored is not None and stored == record(stored["writer"])
    assert 0 <= stored["writer"] < len(writers)
    writer = writers[stored["writer"]]
    assert mode(folder / f"{KEY}.json") == 0o666 & ~writer["umask"]  # the last writer's
    return stored


def test_concurrent_writers_with_different_umasks_leave_one_valid_record(shared_dir):
    writers = [{"umask": umask} for umask in (0o022, 0o002, 0o027, 0o022, 0o002, 0o007)]
    assert race(shared_dir, writers) == [0] * len(writers)
    check_one_valid_record(shared_dir, writers)


@needs_root
def test_concurrent_writers_of_different_users_leave_one_valid_record(shared_dir):
    writers = [{"umask": 0o022}, {"umask": 0o002, "user": nobody()},
               {"umask": 0o022, "user": nobody()}, {"umask": 0o002}]
    assert race(shared_dir, writers) == [0] * len(writers)
    stored = check_one_valid_record(shared_dir, writers)
    owner = (shared_dir / f"{KEY}.json").stat().st_uid
    assert owner == (nobody()[0] if "user" in writers[stored["writer"]] else 0)


@needs_root
def test_another_users_record_loads_without_a_report(shared_dir):
    path = ResultsStore(shared_dir).save(record(3))
    os.chown(path, *nobody())
    path.chmod(0o640)  # another owner, another mode; root may read it
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ResultsStore(shared_dir).read(path) == record(3)


def read_as_another_user(folder: Path, path: Path) -> dict:
    """Read ``path`` with a fresh store in a process that cannot read it: as ``nobody`` when
    root (root reads everything), else as this user after ``chmod 000``. The store's reports."""
    out = folder / "report.json"
    if not ROOT_USER:
        path.chmod(0o000)
    out_fd = os.open(out, os.O_WRONLY | os.O_CREAT, 0o666)
    os.chmod(out, 0o666)

    def read():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ResultsStore._reported.clear()
            loaded = ResultsStore(folder).read(path)
        os.write(out_fd, json.dumps({"loaded": loaded,
                                     "reports": [str(w.message) for w in caught]}).encode())

    assert join([in_child(read, user=nobody() if ROOT_USER else None)]) == [0]
    os.close(out_fd)
    result = json.loads(out.read_text())
    out.unlink()
    return result


def test_a_record_this_user_may_not_read_is_not_called_corrupt(shared_dir):
    previous = os.umask(0o077)  # a careless writer: the record is private to its owner
    try:
        path = ResultsStore(shared_dir).save(record(2))
    finally:
        os.umask(previous)
    result = read_as_another_user(shared_dir, path)
    assert result["loaded"] is None  # absent for this user: it would retrain
    (report,) = result["reports"]
    assert "not readable by this user" in report and "not corrupt" in report
    assert "mode 0600" in report and "chmod g+r" in report


def test_a_corrupt_record_is_still_reported_as_such(shared_dir):
    path = shared_dir / f"{KEY}.json"
    path.write_text('{"key": "0123')
    with pytest.warns(UserWarning) as caught:
        assert ResultsStore(shared_dir).read(path) is None
    (report,) = [str(w.message) for w in caught]
    assert "not readable by this user" not in report and "Unterminated string" in report


def test_binary_atomic_writes_respect_the_umask_too(tmp_path):
    import os
    import stat

    from lt_lab.io import write_atomic

    old = os.umask(0o022)
    try:
        path = write_atomic(tmp_path / "checkpoint.pt", lambda f: f.write(b"state"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644 and path.read_bytes() == b"state"
