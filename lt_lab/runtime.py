"""The process a run happens in: device, seeds, CPU threads, mixed precision."""

from __future__ import annotations

import contextlib
import functools
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from lt_lab.errors import ConfigError, check_choice

DEVICES = ("auto", "cpu", "cuda", "mps")
# "auto" is for ad-hoc runs; profiles pin one of the others so their records mean the same
# on every machine.
PRECISIONS = ("fp32", "bf16", "fp16", "auto")
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_device(name: str) -> torch.device:
    """``"auto"`` is CUDA when torch sees a GPU, else the CPU."""
    check_choice("device", name, DEVICES)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device='cuda' but torch sees no CUDA GPU; use device='auto' or 'cpu'")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    """Seed torch and numpy; make cuDNN pick deterministic kernels."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


@contextmanager
def threads(count: int | None):
    """Run with ``count`` CPU threads (``None``: leave them), then restore the old count.

    Tiny models (an MLP, the unconstrained-features solver) lose more to thread
    synchronisation than they gain, and one thread makes their numbers independent of the
    machine's core count.
    """
    before = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@functools.cache
def cpu_has_native_bf16() -> bool:
    """Whether the CPU computes bf16 natively (AVX-512 BF16 or AMX), from /proc/cpuinfo."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines()
                  if line.startswith("flags")), [])
    return "avx512_bf16" in flags or "amx_bf16" in flags


def cuda_capability(device: torch.device) -> tuple[int, int]:
    return torch.cuda.get_device_capability(device)


def resolve_precision(precision: str, device: torch.device) -> str:
    """The precision a run computes in: ``precision``, or for ``"auto"`` the device's fastest.

    ``auto``: bf16 on CPUs with native bf16 and on GPUs of compute capability ≥ 8.0 (A100,
    H100...), fp16 with a gradient scaler on older GPUs (T4, V100), fp32 elsewhere. A pinned
    ``bf16`` runs on any CPU (emulated, slower, same numbers' meaning); fp16 is for GPUs only.
    """
    check_choice("precision", precision, PRECISIONS)
    device = torch.device(device)
    if precision == "auto":
        if device.type == "cuda":
            return "bf16" if cuda_capability(device) >= (8, 0) else "fp16"
        if device.type == "cpu" and cpu_has_native_bf16():
            return "bf16"
        return "fp32"
    if precision == "fp16" and device.type != "cuda":
        raise ConfigError(f"precision='fp16' needs a CUDA GPU (device is {device.type}); "
                          "use 'bf16', 'fp32' or 'auto'")
    if precision == "bf16" and device.type == "cuda" and cuda_capability(device) < (8, 0):
        raise ConfigError(f"precision='bf16' on {torch.cuda.get_device_name(device)} (compute "
                          "capability < 8.0, no bf16): use 'fp16' or 'auto'")
    if precision == "bf16" and device.type not in ("cpu", "cuda"):
        raise ConfigError(f"precision='bf16' is supported on cpu and cuda, not {device.type}")
    return precision


def autocast(device: torch.device, precision: str = "fp32"):
    """Autocast to ``precision`` ("bf16"/"fp16") on ``device``; a no-op for "fp32".

    Matrix products and convolutions run in the low precision; losses, reductions and the
    optimiser's update stay in float32 (master weights are float32).
    """
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=DTYPES[precision])


def grad_scaler(device: torch.device, precision: str):
    """fp16 needs its loss scaled against underflowing gradients; bf16 and fp32 do not."""
    if precision != "fp16":
        return None
    return torch.amp.GradScaler(torch.device(device).type)


def rng_states() -> dict:
    """The global random states a run draws from (torch's CPU and CUDA generators, numpy's),
    in a form ``torch.save`` keeps and ``torch.load(weights_only=True)`` reads back."""
    name, keys, position, has_gauss, cached = np.random.get_state()
    states = {"torch": torch.get_rng_state(),
              "numpy": [name, keys.tolist(), int(position), int(has_gauss), float(cached)]}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict) -> None:
    """Restore what :func:`rng_states` returned."""
    torch.set_rng_state(states["torch"].cpu())
    name, keys, position, has_gauss, cached = states["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), position, has_gauss, cached))
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([state.cpu() for state in states["cuda"]])
