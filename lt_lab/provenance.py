"""Where and with what a record was made: device, software versions, commit, time.

Every kind of record carries the same block, built here once. The device is named
precisely enough to tell when a retrain should give bit-identical numbers: the CPU model,
its thread count and the instruction-set extensions that change which kernels torch runs
(AVX2, AVX-512, AVX-512 BF16, AMX), or the GPU's name and compute capability.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np
import torch

# The cpuinfo flags that decide which CPU kernels torch (oneDNN) picks.
ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16",
             "amx_bf16", "amx_tile", "asimd", "sve")


# The cpuinfo fields that name a CPU's generation beyond its marketing name (x86), in order.
CPU_NUMBERS = ("vendor_id", "cpu family", "model", "stepping")


def _cpuinfo(text: str | None = None) -> tuple[str, list[str], str]:
    """The CPU's model name, its ISA flags among :data:`ISA_FLAGS`, and its vendor, family,
    model and stepping numbers (``"GenuineIntel family 6 model 143 stepping 8"``; empty
    where /proc/cpuinfo does not give them), from ``text`` (default: /proc/cpuinfo)."""
    model, flags, numbers = platform.processor() or platform.machine(), [], {}
    try:
        text = Path("/proc/cpuinfo").read_text() if text is None else text
        for line in text.splitlines():
            name, _, value = line.partition(":")
            name = name.strip()
            if name == "model name" and model in ("", platform.processor(), platform.machine()):
                model = value.strip()
            elif name in ("flags", "Features") and not flags:
                present = set(value.split())
                flags = [flag for flag in ISA_FLAGS if flag in present]
            elif name in CPU_NUMBERS and name not in numbers:
                numbers[name] = value.strip()
    except OSError:
        pass
    return model, flags, _cpu_numbers(numbers)


def _cpu_numbers(numbers: dict[str, str]) -> str:
    if not numbers.get("vendor_id"):
        return ""
    rest = [f"{name.removeprefix('cpu ')} {numbers[name]}" for name in CPU_NUMBERS[1:]
            if name in numbers]
    return " ".join([numbers["vendor_id"], *rest])


def hardware(device: torch.device | str) -> dict:
    """``{"type": "cpu", "model", "cpu", "isa", "threads"}`` or ``{"type": "cuda", "name",
    "capability"}``: the device part of the identity a retrain must match to expect
    identical numbers (:mod:`lt_lab.reproduce`). ``cpu`` is the vendor, family, model and
    stepping (records made before 2026-12-07 lack it)."""
    device = torch.device(device)
    if device.type == "cuda":
        major, minor = torch.cuda.get_device_capability(device)
        return {"type": "cuda", "name": torch.cuda.get_device_name(device),
                "capability": f"{major}.{minor}"}
    if device.type != "cpu":
        return {"type": device.type}
    model, flags, numbers = _cpuinfo()
    return {"type": "cpu", "model": model, "cpu": numbers, "isa": flags,
            "threads": torch.get_num_threads()}


def describe_device(device: torch.device | str) -> str:
    """One line: ``"cpu: AMD EPYC 9B14, 2 threads"`` or ``"cuda: NVIDIA H100 80GB HBM3"``."""
    info = hardware(device)
    if info["type"] == "cuda":
        return f"cuda: {info['name']}"
    if info["type"] == "cpu":
        return f"cpu: {info['model']}, {info['threads']} threads"
    return info["type"]


def software_versions() -> dict:
    try:
        version = metadata.version("lt-lab")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return {"python": sys.version.split()[0], "torch": torch.__version__,
            "numpy": np.__version__, "lt_lab": version}


CODE_DIRS = ("lt_lab", "scripts")  # an untracked file here can change what a run computes


def git_commit() -> str:
    """The checkout's commit, or 'unknown'; with ``-dirty`` if a tracked file has uncommitted
    changes or an untracked, unignored file lies in the code (:data:`CODE_DIRS`: a new module
    there is imported as readily as a committed one). Untracked records in ``data/`` do not
    count: a grid writes them as it goes."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=here,
                                capture_output=True, text=True, timeout=5, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=here, capture_output=True, text=True, timeout=5)
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=here,
                             capture_output=True, text=True, timeout=5, check=True)
        untracked = subprocess.run(["git", "ls-files", "--others", "--exclude-standard", "--",
                                    *CODE_DIRS], cwd=top.stdout.strip(), capture_output=True,
                                   text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    changed = dirty.stdout.strip() or untracked.stdout.strip()
    return commit.stdout.strip() + ("-dirty" if changed else "")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def provenance(device: torch.device | str) -> dict:
    """The block every record carries: ``device``, ``hardware``, ``versions``, ``git_commit``,
    ``created``."""
    return {"device": describe_device(device), "hardware": hardware(device),
            "versions": software_versions(), "git_commit": git_commit(), "created": now()}
