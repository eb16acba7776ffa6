"""The install paths agree: pyproject.toml, environment.yml, the Makefile and CI."""

from pathlib import Path

import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pyproject_requirements() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    return set(project["dependencies"]) | {r for group in extras.values() for r in group}


def test_environment_yml_lists_the_same_requirements_as_pyproject():
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    assert set(pip_section) - {"-e ."} == _pyproject_requirements()


def test_core_runtime_needs_only_torch_numpy_tqdm():
    # The GPU image has these and no jupyter: lt_lab's core must import with them alone.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {r.split(">")[0].split("=")[0].split("<")[0] for r in project["dependencies"]}
    assert names == {"torch", "numpy", "tqdm"}


def test_torch_is_pinned_where_these_machines_install_it():
    assert "TORCH_PIN ?= torch==2.13.0" in (ROOT / "Makefile").read_text()
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_core_does_not_import_the_book_stack():
    import subprocess
    import sys

    code = (
        "import sys, lt_lab.train, lt_lab.cli, lt_lab.grid, lt_lab.results, lt_lab.bench\n"
        "lt_lab.cli.build_parser()\n"
        "heavy = {'pandas', 'matplotlib', 'sklearn', 'papermill', 'seaborn'} & set(sys.modules)\n"
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
