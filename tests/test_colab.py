"""Colab: one repository URL and ref, in _config.yml and every chapter's install cell; a cell
that stops with a message while the URL is the placeholder, raises when the clone or install
fails, and prints one line when it works.

The last test simulates Colab: a fake ``google.colab`` module, git redirected from a GitHub URL
to a bare clone of this checkout, and a fresh virtual environment that sees this one's
packages (torch included) but not its lt_lab, where the cell's ``pip install`` runs with
``--no-deps`` and no index, so nothing is downloaded. Chapter 0 then runs from the clone to its
parameter check, as a Colab reader's would.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest

from lt_lab.book import colab
from lt_lab.book.paths import ROOT
from lt_lab.errors import ConfigError

URL, REF = "https://github.com/example/lt-book", "colab-test"


def chapter_copy(folder: Path, name: str = "00_long_tail.ipynb") -> Path:
    target = folder / name
    shutil.copy2(ROOT / "chapters" / name, target)
    return target


def config_copy(folder: Path) -> Path:
    target = folder / "_config.yml"
    shutil.copy2(ROOT / "_config.yml", target)
    return target


def test_the_install_cell_is_valid_python_that_ruff_accepts(tmp_path):
    source = colab.install_cell(URL, REF)
    compile(source, "colab-install", "exec")
    script = tmp_path / "cell.py"
    script.write_text(source + "\n")
    ruff = Path(sys.executable).with_name("ruff")
    done = subprocess.run([str(ruff), "check", "--config", str(ROOT / "pyproject.toml"),
                           str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


def test_set_repo_rewrites_the_config_and_every_install_cell_and_nothing_else(tmp_path):
    config, notebook = config_copy(tmp_path), chapter_copy(tmp_path)
    before = nbformat.read(notebook, as_version=4)
    changed = colab.set_repo(URL, REF, config=config, notebooks=[notebook])
    assert changed == [config, notebook]
    assert colab.repository(config) == (URL, REF)
    text = config.read_text()
    assert "lt-lab book set-repo URL --ref REF" in text  # comments kept
    assert text.replace(URL, "").replace(f"branch: {REF}", "") == (
        (ROOT / "_config.yml").read_text().replace(colab.repository()[0], "")
        .replace(f"branch: {colab.repository()[1]}", ""))
    after = nbformat.read(notebook, as_version=4)
    tagged = [i for i, c in enumerate(after.cells) if colab.TAG in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and after.cells[tagged[0]].source == colab.install_cell(URL, REF)
    assert [c.source for i, c in enumerate(after.cells) if i not in tagged] == [
        c.source for i, c in enumerate(before.cells) if i not in tagged]
    assert colab.stale_cells(config, [notebook]) == []
    assert colab.set_repo(URL, REF, config=config, notebooks=[notebook]) == [config]


def test_set_repo_refuses_what_colab_or_git_cannot_open(tmp_path):
    config, notebook = config_copy(tmp_path), chapter_copy(tmp_path)
    with pytest.raises(ConfigError, match="must be a GitHub repository"):
        colab.set_repo("https://gitlab.com/me/lt-book", REF, config, [notebook])
    with pytest.raises(ConfigError, match="tag or branch name"):
        colab.set_repo(URL, "a" * 40, config, [notebook])
    with pytest.raises(ConfigError, match="tag or branch name"):
        colab.set_repo(URL, "v1 --upload-pack=x", config, [notebook])
    assert config.read_text() == (ROOT / "_config.yml").read_text()


def test_a_chapter_whose_cell_differs_from_the_config_is_stale(tmp_path):
    config, notebook = config_copy(tmp_path), chapter_copy(tmp_path)
    colab.set_repo(URL, REF, config=config, notebooks=[notebook])
    colab._set_config(config, URL, "v9")
    assert colab.stale_cells(config, [notebook]) == [notebook.name]


def test_every_chapter_installs_the_ref_its_colab_button_opens():
    """Fails until `lt-lab book set-repo URL --ref REF` has rewritten the chapters."""
    assert colab.stale_cells() == []


@pytest.fixture
def in_colab(monkeypatch):
    """A fake ``google.colab`` module: the cell believes it runs in Colab."""
    google = types.ModuleType("google")
    google.colab = types.ModuleType("google.colab")
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", google.colab)


def run_cell(source: str) -> dict:
    namespace: dict = {}
    exec(compile(source, "colab-install", "exec"), namespace)
    return namespace


def test_outside_colab_the_cell_does_nothing(tmp_path):
    home = tmp_path / "lt-book"
    run_cell(colab.install_cell(URL, REF, str(home)))
    assert not home.exists()


def test_while_the_url_is_the_placeholder_the_cell_stops_and_says_why(tmp_path, in_colab):
    home = tmp_path / "lt-book"
    with pytest.raises(RuntimeError, match="lt-lab book set-repo URL --ref REF"):
        run_cell(colab.install_cell(colab.PLACEHOLDER, "v0.1.0", str(home)))
    assert not home.exists()


def test_a_failed_clone_raises_with_gits_own_words(tmp_path, in_colab, monkeypatch):
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text(f'[url "file://{tmp_path}/missing.git"]\n\tinsteadOf = {URL}\n')
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    with pytest.raises(RuntimeError) as failure:
        run_cell(colab.install_cell(URL, REF, str(tmp_path / "lt-book")))
    message = str(failure.value)
    assert message.startswith(f"git clone of {URL} at {REF} failed:")
    assert "missing.git" in message  # git's own explanation follows


DRIVER = """
import json, sys, types
google = types.ModuleType("google")
google.colab = types.ModuleType("google.colab")
sys.modules.update({"google": google, "google.colab": google.colab})
install, home = sys.argv[1], sys.argv[2]
exec(compile(open(install).read(), "colab-install", "exec"), {})
cells = json.load(open(f"{home}/chapters/00_long_tail.ipynb"))["cells"]
code = [c for c in cells if c["cell_type"] == "code"]
first = next(i for i, c in enumerate(code) if "parameters" in c["metadata"].get("tags", []))
namespace = {}
for cell in code[first:first + 2]:  # the parameters, then the cell that checks them
    exec(compile("".join(cell["source"]), "chapter", "exec"), namespace)
import lt_lab
print("lt_lab from", lt_lab.__file__)
"""


def colab_venv(folder: Path) -> Path:
    """A virtual environment that sees this one's packages but not its lt_lab (Colab has
    torch, numpy, pandas... and no lt_lab); its python."""
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages",
                    str(venv)], check=True)
    site = Path(next(p for p in sys.path if p.endswith("site-packages")
                     and Path(p).resolve().is_relative_to(Path(sys.prefix).resolve())))
    farm = folder / "packages"
    farm.mkdir()
    for entry in site.iterdir():
        if "lt_lab" not in entry.name and not entry.name.endswith(".pth") \
                and not entry.name.startswith("__editable__"):
            (farm / entry.name).symlink_to(entry)
    (next(venv.glob("lib/python3*/site-packages")) / "packages.pth").write_text(f"{farm}\n")
    return venv / "bin" / "python"


@pytest.mark.data
@pytest.mark.slow
def test_colab_simulated_clones_installs_and_runs_chapter_0_to_its_parameter_check(tmp_path):
    bare, home = tmp_path / "lt-book.git", tmp_path / "content" / "lt-book"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(ROOT), str(bare)], check=True)
    subprocess.run(["git", "--git-dir", str(bare), "tag", REF, "HEAD"], check=True)
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text(f'[url "file://{bare}"]\n\tinsteadOf = {URL}\n')
    install = tmp_path / "install.py"
    install.write_text(colab.install_cell(URL, REF, str(home)))
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "GIT_CONFIG_GLOBAL": str(gitconfig),
           "PIP_NO_DEPS": "1", "PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0",
           "OMP_NUM_THREADS": "1", "LT_LAB_RESULTS": str(tmp_path / "results")}
    done = subprocess.run([str(colab_venv(tmp_path)), str(driver), str(install), str(home)],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0] == f"lt_lab installed from {URL} at {REF}"  # one line, nothing else
    assert lines[-1] == f"lt_lab from {home / 'lt_lab' / '__init__.py'}"
    assert (home / ".installed").exists() and json.loads(
        (home / "chapters" / "00_long_tail.ipynb").read_text())["cells"]
