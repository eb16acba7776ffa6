"""Registration is explicit: a registry imports the modules that fill it when a name is
first looked up (lt_lab.plugins), never as a side effect of importing the package."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from lt_lab import plugins


def fresh_python(code: str) -> str:
    """What ``code`` prints in a new interpreter (nothing imported, nothing registered)."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.process
def test_importing_the_config_loads_neither_slurm_nor_packing_nor_a_family():
    loaded = fresh_python(
        "import lt_lab.config, sys; print(' '.join(m for m in sys.modules if m.startswith("
        "'lt_lab')))").split()
    assert "lt_lab.launch" not in loaded and "lt_lab.pack" not in loaded
    assert not [name for name in loaded if name.split(".")[1:2] in (
        ["reweighting"], ["margins"], ["decoupling"], ["collapse"], ["regression"])]


def _modules_that_register_losses() -> list[str]:
    """Every module of lt_lab whose source registers a classification loss."""
    package = Path(plugins.__file__).parent
    return sorted(".".join(("lt_lab", *path.relative_to(package).with_suffix("").parts))
                  for path in package.rglob("*.py")
                  if "@register(" in path.read_text() and path.parent.name != "regression")


@pytest.mark.process
def test_every_registered_loss_is_found_by_name_from_a_fresh_process():
    from lt_lab.losses.registry import available

    for module in _modules_that_register_losses():  # here: every registering module imported
        importlib.import_module(module)
    names = available()
    assert {"ce", "focal", "ldam", "logit_adjusted", "vs", "dot_regression", "supcon"} <= \
        set(names)
    found = fresh_python("from lt_lab.losses.registry import loss_class\n"
                         f"for name in {names!r}: print(name, loss_class(name).__name__)")
    assert [line.split()[0] for line in found.splitlines()] == names


@pytest.mark.process
def test_kinds_runners_packers_and_launchers_are_found_from_a_fresh_process():
    found = fresh_python(
        "from lt_lab.config import KINDS; from lt_lab import grid, hooks;"
        "print(KINDS['regression'].__name__, grid.RUNNERS['ufm'].__name__,"
        "grid.PACKERS['classification'].fit.__name__, 'slurm' in grid.LAUNCHERS,"
        "hooks.available())")
    assert found.split(maxsplit=4) == ["RegressionConfig", "run_ufm", "fit_pack", "True",
                                       "['agnostic', 'classifier_fixes', 'collapse', 'posthoc', "
                                       "'sade_aggregation', 'scl_geometry']\n"]


def test_a_registry_loads_its_group_on_a_name_it_does_not_know(monkeypatch):
    imported = []
    monkeypatch.setitem(plugins.PROVIDERS, "toy", ("toy.module",))
    monkeypatch.setattr(plugins, "importlib", SimpleNamespace(import_module=imported.append))
    monkeypatch.setattr(plugins, "_loaded", set())
    registry = plugins.Registered("toy")
    registry["known"] = 1
    assert registry["known"] == 1 and registry.registered("other") is None
    assert imported == []  # a known name, or a look without loading, imports nothing
    with pytest.raises(KeyError):
        registry["other"]
    assert imported == ["toy.module"]
    assert list(registry) == ["known"] and imported == ["toy.module"]  # loaded once


def test_a_registry_of_an_unknown_group_is_refused_by_name():
    with pytest.raises(KeyError, match="no plugin group 'nope'"):
        plugins.Registered("nope")


REGISTERS = ("@register(", "@register_analysis(", "@register_runner(", "register_packer(",
             "@register_launcher(", "    kind: ClassVar[str] = \"")


def test_every_module_that_registers_is_loaded_by_its_registrys_group():
    package = Path(plugins.__file__).parent
    registering = sorted(
        ".".join(("lt_lab", *path.relative_to(package).with_suffix("").parts))
        for path in package.rglob("*.py")
        if any(mark in path.read_text() for mark in REGISTERS)
        and path.name not in ("registry.py", "hooks.py", "grid.py", "config.py"))
    assert {"lt_lab.margins.losses", "lt_lab.collapse.ufm", "lt_lab.pack", "lt_lab.launch"} \
        <= set(registering)
    loaded = fresh_python("import sys; from lt_lab import plugins\n"
                          "for group in plugins.PROVIDERS: plugins.load(group)\n"
                          "print(' '.join(sys.modules))").split()
    assert [module for module in registering if module not in loaded] == []
