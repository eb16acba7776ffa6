"""Post-hoc logit adjustment as an analysis of a trained run (Menon et al., ICLR 2021).

``analyses={"posthoc": {"taus": [0.0, 1.0]}}`` makes a run also report, after its last
epoch, the test metrics of ``argmax_y z_y − τ log π_y`` for each ``τ`` (π the training class
prior; τ = 1 is Buda et al.'s prior thresholding, τ = −1 adds the prior back). They land in
``record["extras"]["posthoc"]["<τ>"]``; :func:`posthoc_view` reads them back as records.

A run with a balanced validation split (``val_per_class > 0``) also stores the validation
balanced accuracy at each ``τ`` under ``record["extras"]["posthoc_val"]["<τ>"]``, so that τ is
chosen there and never on the test set (:func:`lt_lab.margins.readers.validation_taus`).
"""

from __future__ import annotations

import torch

from lt_lab.constraints import Interval
from lt_lab.errors import ConfigError
from lt_lab.hooks import Analysis, register_analysis

# One τ grid for post-hoc logit adjustment, shared by the chapters that evaluate plain CE
# models this way, so that they share the CE runs (the grid is part of the run's config).
POSTHOC_TAUS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
POSTHOC_METRICS = ("acc", "balanced_acc", "macro_f1", "ece", "many_shot_acc",
                   "medium_shot_acc", "few_shot_acc", "per_class_acc")


@register_analysis("posthoc")
class PosthocAdjustment(Analysis):
    """Test metrics of the post-hoc adjusted predictions, for each of ``taus``."""

    def __init__(self, taus):
        if not isinstance(taus, (list, tuple)) or not taus:
            raise ConfigError(f"analyses['posthoc']['taus']={taus!r} must be a non-empty "
                              "list of numbers")
        for tau in taus:
            Interval(float, None, None).check("analyses['posthoc']['taus']", tau)
        self.taus = [float(tau) for tau in taus]

    def after_fit(self, state) -> None:
        from lt_lab.train import evaluate

        state.extras["posthoc"] = {
            f"{tau:g}": {name: value for name, value in
                         evaluate(state.model, state.data, state.config, tau).items()
                         if name in POSTHOC_METRICS}
            for tau in self.taus
        }
        if state.data.val_images is not None:  # choose τ here, never on the test set
            state.extras["posthoc_val"] = {
                f"{tau:g}": {"balanced_acc": validation_balanced_accuracy(state, tau)}
                for tau in self.taus
            }


def adjust(logits: torch.Tensor, class_counts, tau: float) -> torch.Tensor:
    """Menon et al.'s post-hoc adjustment: ``z_y − τ log π_y``, π the training class prior."""
    counts = torch.as_tensor(class_counts, dtype=torch.float64)
    return logits - tau * torch.log(counts / counts.sum()).to(logits.dtype)


def validation_balanced_accuracy(state, tau: float) -> float:
    """Balanced accuracy of ``argmax z − τ log π`` on the run's validation split."""
    from lt_lab.metrics import balanced_accuracy
    from lt_lab.runtime import resolve_precision
    from lt_lab.train import predict_logits

    data = state.data
    precision = resolve_precision(state.config.precision, data.val_images.device)
    logits = adjust(predict_logits(state.model, data.val_images, data, precision).cpu(),
                    data.class_counts, tau)
    return balanced_accuracy(logits.argmax(1), data.val_labels.cpu(), data.num_classes)


def posthoc_view(records: list[dict], tau: float) -> list[dict]:
    """The records as if their predictions were post-hoc adjusted with ``tau``.

    Each copy's ``metrics`` and ``per_class_acc`` are those of ``argmax z - tau log pi``,
    stored in the run (its config must list ``tau`` in ``analyses["posthoc"]["taus"]``).
    """
    views = []
    for record in records:
        stored = record.get("extras", {}).get("posthoc", {})
        if f"{tau:g}" not in stored:
            raise ConfigError(f"record {record.get('key')} has no post-hoc metrics at "
                              f"tau={tau:g}; train it with analyses={{'posthoc': "
                              f"{{'taus': [..., {tau:g}]}}}}")
        adjusted = dict(stored[f"{tau:g}"])
        per_class = adjusted.pop("per_class_acc")
        views.append({**record, "metrics": adjusted, "per_class_acc": per_class})
    return views
