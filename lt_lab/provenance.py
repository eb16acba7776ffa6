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


def _cpuinfo() -> tuple[str, list[str]]:
    model, flags = platform.processor() or platform.machine(), []
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            name, _, value = line.partition(":")
            name = name.strip()
            if name == "model name" and model in ("", platform.processor(), platform.machine()):
                model = value.strip()
            elif name in ("flags", "Features") and not flags:
                present = set(value.split())
                flags = [flag for flag in ISA_FLAGS if flag in present]
    except OSError:
        pass
    return model, flags


def hardware(device: torch.device | str) -> dict:
    """``{"type": "cpu", "model", "isa", "threads"}`` or ``{"type": "cuda", "name",
    "capability"}``: what a retrain must match to expect identical numbers."""
    device = torch.device(device)
    if device.type == "cuda":
        major, minor = torch.cuda.get_device_capability(device)
        return {"type": "cuda", "name": torch.cuda.get_device_name(device),
                "capability": f"{major}.{minor}"}
    if device.type != "cpu":
        return {"type": device.type}
    model, flags = _cpuinfo()
    return {"type": "cpu", "model": model, "isa": flags, "threads": torch.get_num_threads()}


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


def git_commit() -> str:
    """The checkout's commit (with ``-dirty`` if it has uncommitted changes), or 'unknown'."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=here,
                                capture_output=True, text=True, timeout=5, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=here, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def provenance(device: torch.device | str) -> dict:
    """The block every record carries: ``device``, ``hardware``, ``versions``, ``git_commit``,
    ``created``."""
    return {"device": describe_device(device), "hardware": hardware(device),
            "versions": software_versions(), "git_commit": git_commit(), "created": now()}
