"""The install paths agree: pyproject.toml, environment.yml, the Makefile and CI."""

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

import pytest
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


def _name(requirement: str) -> str:
    """A requirement's distribution name, normalised (PEP 503): ``"Pillow>=9.0"`` -> pillow."""
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-") \
        .replace(".", "-")


def test_core_runtime_needs_no_jupyter():
    # The GPU image has these and no jupyter: lt_lab's core must import with them alone
    # (scipy and Pillow are imported lazily, where statistics or face images are needed).
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {_name(r) for r in project["dependencies"]}
    assert names == {"torch", "numpy", "tqdm", "scipy", "pillow"}


def _third_party_imports() -> dict[str, set[str]]:
    """Every top-level module lt_lab imports that is neither the standard library nor
    lt_lab, with the files that import it (absolute imports, at any depth)."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / "lt_lab").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top not in sys.stdlib_module_names and top != "lt_lab":
                    found.setdefault(top, set()).add(path.name)
    return found


def test_every_third_party_import_is_declared():
    # Import name -> distribution through the installed metadata (PIL -> pillow,
    # yaml -> PyYAML, sklearn -> scikit-learn), so nothing is mapped by hand.
    declared = {_name(r) for r in _pyproject_requirements()}
    distributions = importlib.metadata.packages_distributions()
    imports = _third_party_imports()
    assert {"torch", "scipy", "PIL", "yaml"} <= set(imports)  # the scan sees them
    undeclared = {module: sorted(files) for module, files in imports.items()
                  if not {_name(d) for d in distributions.get(module, [module])} & declared}
    assert undeclared == {}


def test_the_declared_name_check_by_hand():
    assert _name("Pillow>=9.0") == "pillow" and _name("PyYAML>=6.0") == "pyyaml"
    assert _name("torch>=2.2,<3") == "torch" and _name("jupyter-book>=1,<2") == "jupyter-book"
    assert _name("matplotlib_inline") == "matplotlib-inline"


def test_torch_is_pinned_where_these_machines_install_it():
    assert "TORCH_PIN ?= torch==2.13.0" in (ROOT / "Makefile").read_text()
    assert "make test" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.process
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
