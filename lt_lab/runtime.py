"""The process a run happens in: device, seeds, CPU threads, mixed precision."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import torch

from lt_lab.errors import ConfigError, check_choice

DEVICES = ("auto", "cpu", "cuda", "mps")


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


def autocast(device: torch.device):
    """bf16 autocast on CUDA; off on the CPU (the stored CPU records are float32)."""
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")
