"""The command line's shape (issue 33): `lt-lab book` actions as subcommands with only their
own options, the SLURM option --runs-per-task, complete help texts, one table of every
LT_LAB_* variable, and a note when runs go into the checkout's git-tracked store."""

import argparse
import json
import re
import shlex
from pathlib import Path

import pytest
from fixtures_synthetic import synthetic_fashion_mnist  # noqa: F401

from lt_lab import cli
from lt_lab.cli import ENVIRONMENT, build_parser, environment_markdown, main
from lt_lab.config import PROFILES, make_config

ROOT = Path(__file__).resolve().parents[1]
BOOK_ACTIONS = ["execute", "build", "freeze", "check", "time", "lock", "set-repo", "slides",
                "strip-solutions"]


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """A parser's subcommands by name (argparse has no public way to list them)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _every_parser(parser, name="lt-lab"):
    yield name, parser
    for sub_name, sub in _subparsers(parser).items():
        yield from _every_parser(sub, f"{name} {sub_name}")


# --------------------------------------------------------------------------- lt-lab book

def test_book_has_one_subcommand_per_action():
    assert list(_subparsers(_subparsers(build_parser())["book"])) == BOOK_ACTIONS


@pytest.mark.parametrize("argv, flag", [
    (["build", "--all"], "--all"),                    # execute's
    (["check", "--student"], "--student"),            # build's
    (["lock", "-p", "profile", "smoke"], "-p"),       # execute's and time's
    (["freeze", "x.ipynb", "--amend", "why"], "--amend"),  # lock's
    (["execute", "--all", "--no-build"], "--no-build"),    # time's
    (["build", "--results-dir", "/tmp/r"], "--results-dir"),  # the kernels' store: no kernel
    (["set-repo", "https://x/y", "--ref", "v1", "--output", "o"], "--output"),
    (["strip-solutions", "--ref", "v1"], "--ref"),
])
def test_an_option_of_another_action_is_refused(capsys, argv, flag):
    assert main(["book", *argv]) == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments" in err and flag in err


def test_set_repo_needs_its_ref_and_freeze_a_notebook(capsys):
    assert main(["book", "set-repo", "https://github.com/me/lt-book"]) == 2
    assert "--ref" in capsys.readouterr().err
    assert main(["book", "freeze"]) == 2
    assert "notebooks" in capsys.readouterr().err


def test_book_without_an_action_lists_them(capsys):
    assert main(["book"]) == 2
    assert "ACTION" in capsys.readouterr().err


def _documented_command_lines() -> list[str]:
    """Every `lt-lab book ...` line of the Makefile, the README, the book's pages and this
    CLI's own usage block (optional parts in [brackets] taken as given)."""
    sources = [ROOT / "Makefile", ROOT / ".ci" / "run", ROOT / "README.md",
               *sorted((ROOT / "book").glob("*.md"))]
    texts = [path.read_text() for path in sources]
    texts.append(re.sub(r"\[(--[^]]*)\]", r"\1", cli.__doc__))
    lines = []
    for text in texts:  # a command starts a line (or follows && or a backtick); prose does not
        for match in re.finditer(r"(?:^\s*|&& |`)(?:\$\(BIN\)/)?(lt-lab book [^`\n#&]*)",
                                 text, flags=re.MULTILINE):
            lines.append(match.group(1).strip().replace('"$$(mktemp -d)"', "/tmp/empty"))
    return lines


def test_every_documented_book_command_line_parses():
    lines = _documented_command_lines()
    assert len(lines) >= 20  # Makefile, README, fork.md, intro.md, the usage block
    for line in lines:
        args = build_parser().parse_args(shlex.split(line)[1:])
        assert args.command == "book" and args.action in BOOK_ACTIONS, line


def test_the_book_actions_get_what_the_command_lines_give():
    parse = build_parser().parse_args
    executed = parse(["book", "execute", "a.ipynb", "-p", "seeds", "[1, 2]", "--output", "o"])
    assert (executed.notebooks, executed.parameter, executed.output) == (
        ["a.ipynb"], [["seeds", "[1, 2]"]], "o")
    assert cli._parameters(executed) == {"seeds": [1, 2]}
    repo = parse(["book", "set-repo", "https://github.com/me/lt-book", "--ref", "v0.1.0"])
    assert (repo.repository, repo.ref, repo.func) == (
        "https://github.com/me/lt-book", "v0.1.0", cli.book_set_repo)
    timed = parse(["book", "time", "--results-dir", "/tmp/empty", "--no-build"])
    assert (timed.results_dir, timed.no_build, timed.notebooks) == ("/tmp/empty", True, [])


# --------------------------------------------------------------------------- lt-lab grid

def test_runs_per_task_is_the_slurm_option_and_pack_the_batched_width():
    parse = build_parser().parse_args
    slurm = parse(["grid", "g.json", "--launcher", "slurm", "--runs-per-task", "3"])
    assert slurm.runs_per_task == 3 and slurm.pack == 1
    local = parse(["grid", "g.json", "--pack", "4"])
    assert local.pack == 4 and local.runs_per_task == 1


@pytest.mark.parametrize("argv, named", [
    (["--launcher", "slurm", "--pack", "2"], ["--pack is for --launcher local",
                                              "--runs-per-task"]),
    (["--runs-per-task", "2"], ["--runs-per-task: for --launcher slurm only"]),
    (["--partition", "gpu", "--time", "5"], ["--partition, --time: for --launcher slurm only"]),
])
def test_an_option_of_the_other_launcher_is_refused(tmp_path, capsys, argv, named):
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps([{"profile": "smoke"}]))
    assert main(["grid", str(grid), *argv, "--results-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert all(name in err for name in named), err
    assert not (tmp_path / "r").exists()  # refused before anything ran


def test_every_slurm_only_option_is_known_with_its_flag():
    assert set(cli.slurm_defaults()) == set(cli.SLURM_FLAGS)  # no option added unlisted
    grid_help = _subparsers(build_parser())["grid"].format_help()
    for flag in cli.SLURM_FLAGS.values():
        assert flag in grid_help


def test_the_cli_no_longer_edits_argparse_internals():
    for module in ("cli.py", "launch.py"):
        assert "_actions" not in (ROOT / "lt_lab" / module).read_text(), module


# --------------------------------------------------------------------------- help texts

def test_every_option_has_help():
    missing = []
    for name, parser in _every_parser(build_parser()):
        if name.startswith("lt-lab bench"):
            continue  # lt_lab.bench's own options (its --seed has none; see the report)
        for action in parser._actions:
            if action.help in (None, "") and not isinstance(action, argparse._SubParsersAction):
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


def test_profile_help_lists_every_profile_long_included():
    run = _subparsers(build_parser())["run"]
    profile = next(a for a in run._actions if "--profile" in a.option_strings)
    assert "long" in PROFILES
    for name in PROFILES:
        assert re.search(rf"\b{name}\b", profile.help), name


def test_the_values_the_run_options_name_are_valid():
    named = 0
    for name, (kind, meaning) in cli.FLAGS.items():
        if kind is str and ":" in meaning:
            for value in set(re.findall(r"[a-z][a-z0-9_]*", meaning.split(":")[1])) - {"or"}:
                make_config("smoke", **{name: value})  # a ConfigError names a stale example
                named += 1
    assert named >= 10


# --------------------------------------------------------------------------- LT_LAB_*

def _variables_in_the_package() -> set[str]:
    names = set()
    for path in (ROOT / "lt_lab").rglob("*.py"):
        names |= set(re.findall(r"LT_LAB_[A-Z0-9_]*[A-Z0-9]", path.read_text()))
    return names


def test_every_lt_lab_variable_of_the_package_is_in_the_table():
    used = _variables_in_the_package()
    assert {"LT_LAB_RESULTS", "LT_LAB_DATA", "LT_LAB_JOBS"} <= used  # the scan finds them
    assert used == {name for name, _ in ENVIRONMENT}


def test_the_readme_and_the_help_print_the_same_table(capsys):
    assert environment_markdown() in (ROOT / "README.md").read_text()
    assert main(["--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())  # the help wraps its lines
    for name, meaning in ENVIRONMENT:
        assert f"{name} {meaning}" in text


def test_the_markdown_table_by_hand(monkeypatch):
    monkeypatch.setattr(cli, "ENVIRONMENT", (("LT_LAB_A", "one"), ("LT_LAB_BB", "two")))
    assert environment_markdown() == ("| variable | what it changes |\n| --- | --- |\n"
                                      "| `LT_LAB_A` | one |\n| `LT_LAB_BB` | two |")
    assert cli.environment_help() == ("environment variables:\n  LT_LAB_A   one\n"
                                      "  LT_LAB_BB  two")


# --------------------------------------------------------------------------- the store note

TINY = ["--profile", "smoke", "--model", "mlp", "--imbalance-ratio", "10", "--n-max", "20",
        "--set", "epochs=1", "--set", "test_per_class=5", "--set", "batch_size=16"]
NOTE = "git-tracked store"


@pytest.fixture
def checkout_store(tmp_path, monkeypatch):
    """The checkout's store, stood in for by a temporary folder (no test writes into
    data/results/), reached the way a user reaches it: no --results-dir, no LT_LAB_RESULTS."""
    store = tmp_path / "checkout" / "data" / "results"
    monkeypatch.delenv("LT_LAB_RESULTS", raising=False)
    monkeypatch.setattr("lt_lab.results.default_results_dir", lambda: store)
    monkeypatch.setattr(cli, "_checkout_store", lambda: store)
    return store


@pytest.mark.usefixtures("synthetic_fashion_mnist")
def test_a_run_into_the_checkout_store_says_so_once(checkout_store, capsys):
    assert main(["run", *TINY]) == 0
    err = capsys.readouterr().err
    assert err.count(NOTE) == 1 and "--results-dir" in err and "LT_LAB_RESULTS" in err
    assert len(list(checkout_store.glob("*.json"))) == 1
    assert main(["run", *TINY]) == 0  # stored: nothing is written, nothing said
    assert NOTE not in capsys.readouterr().err


def test_no_note_where_the_store_was_chosen(checkout_store, monkeypatch, tmp_path):
    args = argparse.Namespace(results_dir=str(checkout_store), no_cache=True)
    store = cli._store(args)
    said = []
    monkeypatch.setattr("builtins.print", lambda *a, **k: said.append(a))
    cli._notice_checkout_store(args, store, [])  # --results-dir data/results: chosen
    monkeypatch.setenv("LT_LAB_RESULTS", str(checkout_store))
    args.results_dir = None
    cli._notice_checkout_store(args, cli._store(args), [])  # the variable: chosen too
    assert said == []
    monkeypatch.delenv("LT_LAB_RESULTS")
    cli._notice_checkout_store(args, cli._store(args), [])  # the default: said
    assert len(said) == 1 and NOTE in said[0][0]

# --------------------------------------------------------------------------- the bare config

def test_a_bare_config_does_not_pass_for_the_quick_profile():
    import hashlib

    from lt_lab.config import BARE_PROFILE, CACHE_VERSION, RunConfig
    from lt_lab.errors import ConfigError

    bare = RunConfig()
    assert bare.profile == BARE_PROFILE == "custom" and BARE_PROFILE not in PROFILES
    assert bare.validate() is bare and RunConfig.from_dict(bare.to_dict()) == bare
    assert (bare.epochs, bare.precision) == (20, "fp32")  # the quick profile: 16, bf16
    # The name is outside the key: every field at its default, so the key hashes only the
    # kind and the cache version, as before the rename.
    material = json.dumps({"cache_version": CACHE_VERSION, "kind": "classification"},
                          sort_keys=True, separators=(",", ":"))
    assert bare.key() == hashlib.sha256(material.encode()).hexdigest()[:16]
    assert bare.key() == bare.replace(profile="quick").key()
    assert make_config("quick").profile == "quick"
    with pytest.raises(ConfigError, match="'smoke', 'quick', 'long', 'paper'"):
        RunConfig(profile="fast").validate()
    with pytest.raises(ConfigError, match="profile='custom' is not known"):
        make_config(BARE_PROFILE)  # not a profile to build from


# --------------------------------------------------------------------------- stale names

NOT_MODULES = {"lt_lab.book_time"}  # a record kind (lt_lab.book.timing), not a module


def _resolves(dotted: str) -> bool:
    """Whether ``lt_lab.a.b`` is a module, or an attribute reached from the longest
    importable module prefix."""
    import importlib

    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:end]))
        except ModuleNotFoundError:
            continue
        try:
            for name in parts[end:]:
                target = getattr(target, name)
        except AttributeError:
            return False
        return True
    return False


def test_every_dotted_lt_lab_name_and_test_file_named_exists():
    # Stale docstrings named modules that had moved (decouple for decoupling, the losses
    # package for the families' own, test_losses_margins for test_margins_losses): every such
    # name in the package, tests and README must resolve (placeholders such as lt_lab dot a
    # excepted: one letter).
    texts = {path: path.read_text() for path in [*(ROOT / "lt_lab").rglob("*.py"),
                                                 *(ROOT / "tests").glob("*.py"),
                                                 ROOT / "README.md"]}
    names, files = set(), set()
    for text in texts.values():
        names |= set(re.findall(r"\blt_lab(?:\.[A-Za-z_]\w*)+", text))
        files |= set(re.findall(r"\btests/test_\w+\.py\b", text))
    names = {name for name in names if "__main__" not in name
             and min(len(part) for part in name.split(".")) > 1} - NOT_MODULES
    assert len(names) > 100 and len(files) > 10  # the scan finds them
    assert sorted(name for name in names if not _resolves(name)) == []
    assert sorted(name for name in files if not (ROOT / name).exists()) == []
