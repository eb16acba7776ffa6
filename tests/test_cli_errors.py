"""The command line tells a user's mistake from a bug (issue 33).

A mistake in what the user typed or gave (a config, a file, a folder) is one line on stderr
and exit status 2; anything else is a bug in lt_lab and must keep its traceback, so a planted
internal error has to come out of ``main`` as itself.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from lt_lab import cli
from lt_lab.errors import (
    ConfigError,
    DataFileError,
    DataUnavailableError,
    GridError,
    TrainingDivergedError,
    UserError,
)
from lt_lab.results import StoreError

RUN = ["run", "--profile", "smoke", "--model", "mlp", "--n-max", "20"]


def _planted(error: BaseException):
    def fit(*args, **kwargs):
        raise error
    return fit


@pytest.mark.parametrize("error", [RuntimeError("mat1 and mat2 shapes cannot be multiplied"),
                                   ValueError("an internal ValueError"),
                                   TypeError("an internal TypeError"),
                                   OSError("an internal OSError")])
def test_an_internal_error_in_fit_propagates_with_its_type(monkeypatch, tmp_path, error):
    monkeypatch.setattr("lt_lab.train.fit", _planted(error))
    with pytest.raises(type(error), match=str(error)):
        cli.main([*RUN, "--results-dir", str(tmp_path)])


def test_a_user_error_in_fit_is_one_line_and_exit_2(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr("lt_lab.train.fit", _planted(ConfigError("lr=-1 must be > 0")))
    assert cli.main([*RUN, "--results-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err == "lt-lab: error: lr=-1 must be > 0\n"


@pytest.mark.process
def test_the_console_script_prints_the_traceback_of_a_bug(tmp_path):
    # The whole path a user sees: a planted bug in fit ends the process with Python's
    # traceback (exit status 1), not lt-lab's one-line error (exit status 2).
    code = ("import sys, lt_lab.train, lt_lab.cli\n"
            "def fit(*a, **k): raise RuntimeError('planted bug')\n"
            "lt_lab.train.fit = fit\n"
            f"sys.exit(lt_lab.cli.main({[*RUN, '--results-dir', str(tmp_path)]!r}))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert done.stderr.rstrip().endswith("RuntimeError: planted bug")
    assert "lt-lab: error" not in done.stderr


@pytest.mark.parametrize("error", [ConfigError, DataUnavailableError, DataFileError,
                                   TrainingDivergedError])
def test_the_projects_user_errors_share_one_base_and_keep_their_builtin_one(error):
    builtin = {ConfigError: ValueError, DataUnavailableError: FileNotFoundError,
               DataFileError: ValueError, TrainingDivergedError: FloatingPointError}[error]
    assert issubclass(error, UserError) and issubclass(error, builtin)


def test_only_user_errors_are_caught():
    caught = cli.user_errors()
    assert {UserError, GridError, StoreError} <= set(caught)  # lt_lab.results is loaded here
    assert all(kind.__module__.startswith("lt_lab.") for kind in caught)  # the project's own
    for builtin in (RuntimeError, ValueError, TypeError, OSError, Exception):
        assert not any(issubclass(builtin, kind) for kind in caught)


def test_a_grid_entry_that_is_not_a_config_is_still_a_user_error(tmp_path, capsys):
    grid = tmp_path / "grid.json"
    grid.write_text('[{"profile": "smoke", "epochs": "many"}]')
    assert cli.main(["grid", str(grid), "--results-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"lt-lab: error: {grid}, entry 1:") and "epochs" in err
    assert "Traceback" not in err


def _failing_chapter(monkeypatch, ename: str, evalue: str):
    from papermill import PapermillExecutionError

    def execute(notebook, parameters, output_dir):
        raise PapermillExecutionError(4, 7, "fit(config)", ename, evalue,
                                      ["Traceback in the kernel", f"{ename}: {evalue}"])
    monkeypatch.setattr("lt_lab.book.execute", execute)


CHAPTER = str(Path(__file__).resolve().parents[1] / "chapters" / "00_long_tail.ipynb")


def test_a_chapter_refusing_its_input_is_one_line(monkeypatch, tmp_path, capsys):
    _failing_chapter(monkeypatch, "ConfigError", "seeds=[] must be a non-empty list")
    assert cli.main(["book", "execute", CHAPTER, "--output", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == (f"lt-lab: error: {CHAPTER} stopped in cell [7]: ConfigError: seeds=[] must "
                   "be a non-empty list\n")


def test_a_bug_in_a_chapter_keeps_the_kernels_traceback(monkeypatch, tmp_path):
    from papermill import PapermillExecutionError

    _failing_chapter(monkeypatch, "NameError", "name 'Registered' is not defined")
    with pytest.raises(PapermillExecutionError) as raised:
        cli.main(["book", "execute", CHAPTER, "--output", str(tmp_path)])
    assert "Traceback in the kernel" in str(raised.value)


def test_user_error_names_by_hand():
    names = cli.user_error_names()
    assert {"UserError", "ConfigError", "OutputError", "DataUnavailableError", "DataFileError",
            "TrainingDivergedError", "GridError", "StoreError"} <= names
    assert not {"RuntimeError", "ValueError", "NameError", "Exception"} & names
