"""FLOP rates: what a training step computes, and the device's peak where it can be known.

A step's floating-point operations are counted by ``torch.utils.flop_counter`` on one
forward and backward pass of the model (matrix products and convolutions, 2 per
multiply-add; the optimiser's element-wise update is not counted). ResNet-32 on 32×32
images: about 0.14 GFLOP forward and 0.42 GFLOP forward and backward an image.

Peaks are dense tensor-core rates from NVIDIA's datasheets, for bf16 and fp16 autocast.
Unknown elsewhere: a CPU's depends on its clock under load and its vector units, an fp32
run's on whether convolutions use TF32 — the record then says ``null`` rather than guess.
"""

from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode

# Dense (no sparsity) bf16/fp16 tensor-core TFLOP/s, by a part of the CUDA device name
# (lower case), most specific first. Sources: NVIDIA H100 and H200 datasheets (SXM: 989.4;
# H100 PCIe: 756), A100 datasheet (312), L4 (121), T4 (fp16 65, no bf16), V100 SXM2 (fp16 125).
GPU_PEAK_TFLOPS = (
    ("h200 nvl", {}),  # a lower-clocked part whose figure we have not checked: unknown
    ("h200", {"bf16": 989.4, "fp16": 989.4}),
    ("h100 pcie", {"bf16": 756.0, "fp16": 756.0}),
    ("h100", {"bf16": 989.4, "fp16": 989.4}),  # the SXM5 part ("H100 80GB HBM3")
    ("a100", {"bf16": 312.0, "fp16": 312.0}),
    ("l4", {"bf16": 121.0, "fp16": 121.0}),
    ("t4", {"fp16": 65.0}),
    ("v100", {"fp16": 125.0}),
)


def peak_tflops(device: torch.device, precision: str) -> float | None:
    """The device's dense peak at ``precision`` in TFLOP/s (datasheet), or None if unknown."""
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device).lower()
    for part, peaks in GPU_PEAK_TFLOPS:
        if part in name:
            return peaks.get(precision)
    return None


def train_flops_per_image(model: torch.nn.Module, loss_fn, x: torch.Tensor,
                          y: torch.Tensor) -> float:
    """Floating-point operations of one forward and backward pass, per image of ``x``."""
    model.zero_grad(set_to_none=True)
    with FlopCounterMode(display=False) as counter:
        loss_fn(model(x).float(), y).backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() / len(y)


def flop_rates(images_per_s: dict[str, float], flops_per_image: float,
               peak: float | None) -> dict:
    """Each pipeline's achieved TFLOP/s and, where the peak is known, its fraction of it."""
    achieved = {name: round(rate * flops_per_image / 1e12, 4)
                for name, rate in images_per_s.items()}
    return {
        "train_gflop_per_image": round(flops_per_image / 1e9, 4),
        "achieved_tflops": achieved,
        "peak_tflops": peak,
        "of_peak": None if not peak else {name: round(value / peak, 4)
                                          for name, value in achieved.items()},
        "note": "forward and backward FLOPs counted by torch.utils.flop_counter (2 per "
                "multiply-add); peak: dense bf16/fp16 tensor-core datasheet figure, null "
                "where unknown (CPUs, fp32)",
    }
