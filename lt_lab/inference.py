"""Batched inference: a model's outputs on a stack of inputs, in evaluation mode."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from lt_lab.runtime import autocast

EVAL_BATCH = 256  # larger batches are slower on a small CPU's cache


@torch.no_grad()
def infer(model: nn.Module, inputs: torch.Tensor, *, prepare: Callable, forward=None,
          batch_size: int = EVAL_BATCH, precision: str = "fp32") -> torch.Tensor:
    """``forward(prepare(chunk))`` for each chunk of ``inputs``, concatenated, in float32.

    ``forward`` defaults to ``model`` (``model.features`` gives penultimate features). The
    model is put in eval mode and back. ``precision``: the autocast of
    :func:`lt_lab.runtime.autocast` ("fp32": none), as the run trained.
    """
    forward = model if forward is None else forward
    was_training = model.training
    model.eval()
    outputs = []
    for start in range(0, len(inputs), batch_size):
        x = prepare(inputs[start : start + batch_size])
        with autocast(inputs.device, precision):
            outputs.append(forward(x).float())
    model.train(was_training)
    return torch.cat(outputs)
