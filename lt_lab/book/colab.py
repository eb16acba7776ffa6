"""Colab: where the book's repository is, and the install cell every chapter opens with.

The repository's URL and the ref readers get (a tag or a branch) live in one place,
``_config.yml``'s ``repository:`` block (``url`` and ``branch``): the site's Colab buttons
open ``<url>/blob/<branch>/chapters/<chapter>.ipynb``, and each chapter's first cell (tagged
``colab-install``, removed from the site) clones that same ref and installs it. ``lt-lab book
set-repo URL --ref REF`` (:func:`set_repo`) rewrites both. While the URL is the shipped
placeholder, the cell stops with a message saying so; a failed clone or install raises an
error that says which step failed and git's or pip's own words; success prints one line.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from lt_lab.book.paths import ROOT, chapter_notebooks
from lt_lab.errors import ConfigError

PLACEHOLDER = "https://github.com/OWNER/lt-book"  # shipped: no fork has set its own yet
TAG = "colab-install"
COLAB_HOME = "/content/lt-book"  # where the cell clones the book in Colab
CONFIG = ROOT / "_config.yml"
GITHUB = re.compile(r"^https://github\.com/[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+$")
REF = re.compile(r"^(?!-)(?!.*\.\.)(?!.*//)[A-Za-z0-9._/-]+(?<![./])$")

TEMPLATE = '''\
# Colab only: install lt_lab and its run records at the ref this notebook was opened from.
# Written by `lt-lab book set-repo URL --ref REF` from _config.yml: change them there.
import shutil
import subprocess
import sys
from pathlib import Path

REPOSITORY = {url}
REF = {ref}  # the tag or branch the site's Colab button opens
HOME = Path({home})
STEPS = {{"git clone": ["git", "-c", "advice.detachedHead=false", "clone", "--quiet", "--depth",
                       "1", "--branch", REF, REPOSITORY, str(HOME)],
         "pip install": [sys.executable, "-m", "pip", "install", "--quiet",
                         "--disable-pip-version-check", "--editable", str(HOME)]}}
if "google.colab" in sys.modules and not (HOME / ".installed").exists():
    if REPOSITORY == {placeholder}:
        raise RuntimeError("This copy of the book names no repository yet: its maintainer "
                           "runs `lt-lab book set-repo URL --ref REF` (see its fork page).")
    shutil.rmtree(HOME, ignore_errors=True)  # what a failed attempt left behind
    for name, step in STEPS.items():
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{{name}} of {{REPOSITORY}} at {{REF}} failed:\\n"
                               f"{{done.stderr.strip()[-3000:]}}")
    (HOME / ".installed").touch()
    sys.path.insert(0, str(HOME))  # this session; a restarted one finds the editable install
    print(f"lt_lab installed from {{REPOSITORY}} at {{REF}}")'''


def install_cell(url: str, ref: str, home: str = COLAB_HOME) -> str:
    """The source of a chapter's ``colab-install`` cell for repository ``url`` at ``ref``."""
    return TEMPLATE.format(url=json.dumps(url), ref=json.dumps(ref), home=json.dumps(home),
                           placeholder=json.dumps(PLACEHOLDER))


def check_repository(url: str, ref: str) -> None:
    """Refuse a URL Colab cannot open (a GitHub repository: ``https://github.com/OWNER/NAME``)
    and a ref ``git clone --branch`` cannot take (a tag or branch name, not a commit)."""
    if not GITHUB.match(url or ""):
        raise ConfigError(f"set-repo: url={url!r} must be a GitHub repository, "
                          "https://github.com/OWNER/NAME (Colab opens notebooks from GitHub)")
    if not REF.match(ref or "") or re.fullmatch(r"[0-9a-f]{40}", ref):
        raise ConfigError(f"set-repo: ref={ref!r} must be a tag or branch name, e.g. v0.1.0 "
                          "or main (git clone --branch takes no commit hash)")


def repository(config: Path = CONFIG) -> tuple[str, str]:
    """``(url, ref)`` of ``_config.yml``'s ``repository:`` block."""
    import yaml

    block = yaml.safe_load(Path(config).read_text()).get("repository") or {}
    return str(block.get("url", "")), str(block.get("branch", ""))


def _set_config(config: Path, url: str, ref: str) -> None:
    """Rewrite ``url`` and ``branch`` of the ``repository:`` block, keeping every comment."""
    lines = Path(config).read_text().split("\n")
    start = lines.index("repository:")
    found = set()
    for index in range(start + 1, len(lines)):
        line = lines[index]
        if line and not line.startswith((" ", "#")):
            break
        for key, value in (("url", url), ("branch", ref)):
            match = re.match(rf"^(\s+{key}:\s*)\S+(.*)$", line)
            if match:
                comment = match.group(2) if match.group(2).strip().startswith("#") else ""
                lines[index] = f"{match.group(1)}{value}{comment}"
                found.add(key)
    if found != {"url", "branch"}:
        raise ConfigError(f"{config}: its repository: block needs url: and branch: lines")
    Path(config).write_text("\n".join(lines))


def _set_notebook(path: Path, url: str, ref: str) -> bool:
    """Give ``path``'s ``colab-install`` cell the source for ``url`` at ``ref``; changed?"""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    cells = [c for c in notebook.cells if TAG in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ConfigError(f"{path.name}: expected one cell tagged {TAG!r}, found {len(cells)}")
    source = install_cell(url, ref)
    if cells[0].source == source:
        return False
    cells[0].source = source
    nbformat.write(notebook, path)
    return True


def set_repo(url: str, ref: str, config: Path = CONFIG, notebooks=None) -> list[Path]:
    """Point the book at repository ``url`` and ``ref``: ``_config.yml`` (the Colab buttons)
    and every chapter's install cell; the files changed."""
    check_repository(url, ref)
    config = Path(config)
    _set_config(config, url, ref)
    notebooks = chapter_notebooks() if notebooks is None else [Path(n) for n in notebooks]
    return [config, *(path for path in notebooks if _set_notebook(path, url, ref))]


def stale_cells(config: Path = CONFIG, notebooks=None) -> list[str]:
    """The chapters whose install cell does not match ``_config.yml`` (empty: all do)."""
    import nbformat

    url, ref = repository(config)
    stale = []
    for path in chapter_notebooks() if notebooks is None else [Path(n) for n in notebooks]:
        cells = [c for c in nbformat.read(path, as_version=4).cells
                 if TAG in c.metadata.get("tags", [])]
        if [c.source for c in cells] != [install_cell(url, ref)]:
            stale.append(path.name)
    return stale
