"""Neural-collapse snapshots of a training run, every few epochs.

``analyses={"collapse": {"every": 3}}`` records :func:`collapse_snapshot` every ``every``
epochs and at the last, as ``record["extras"]["collapse"]`` (a list of
``{"epoch": e, **snapshot}``); ``"first_epoch": True`` adds one after the first epoch, so that
a long run's sparse snapshots still start where Papyan et al.'s curves start.
:class:`CollapseTracker` does the same as a one-off callback (``fit(..., callbacks=[...])``)
under a key of your choice.
"""

from __future__ import annotations

from torch import nn

from lt_lab.collapse.metrics import (
    class_statistics,
    classifier_weights,
    geometry,
    within_class_variability,
)
from lt_lab.errors import ConfigError, check_positive
from lt_lab.hooks import Analysis, register_analysis
from lt_lab.train import extract_features


def collapse_snapshot(model: nn.Module, data, config) -> dict:
    """What the ``collapse`` analysis records every ``every`` epochs.

    Penultimate features of the whole training set (eval mode) and the model's head give
    :func:`geometry` with class-averaged statistics, plus NC1 with sample-averaged ones
    (``nc1_sample``). JSON-ready: floats and small lists only.
    """
    features = extract_features(model, data.train_images, data)
    W, b = classifier_weights(model.classifier)
    snapshot = geometry(features, data.train_labels, W, b, num_classes=data.num_classes)
    sample = class_statistics(features, data.train_labels, data.num_classes, "sample")
    snapshot["nc1_sample"] = within_class_variability(sample["within"], sample["between"],
                                                      data.num_classes)
    return snapshot


def _due(state, every: int, first_epoch: bool = False) -> bool:
    epoch = state.epoch + 1
    return epoch % every == 0 or epoch == state.config.epochs or (first_epoch and epoch == 1)


@register_analysis("collapse")
class CollapseSnapshots(Analysis):
    """:func:`collapse_snapshot` every ``every`` epochs and at the last (and after the first,
    with ``first_epoch``)."""

    def __init__(self, every: int, first_epoch: bool = False):
        if isinstance(every, bool) or not isinstance(every, int):
            raise ConfigError(f"analyses['collapse']['every']={every!r} must be an integer >= 1")
        check_positive("analyses['collapse']['every']", every, minimum=1, inclusive=True)
        if not isinstance(first_epoch, bool):
            raise ConfigError(f"analyses['collapse']['first_epoch']={first_epoch!r} must be "
                              "true or false")
        self.every, self.first_epoch = every, first_epoch

    def on_epoch_end(self, state) -> None:
        if _due(state, self.every, self.first_epoch):
            snapshot = collapse_snapshot(state.model, state.data, state.config)
            state.extras.setdefault("collapse", []).append({"epoch": state.epoch + 1,
                                                            **snapshot})


class CollapseTracker:
    """A ``fit`` callback: :func:`collapse_snapshot` every ``every`` epochs and at the last,
    appended to ``extras[key]`` of the run record as ``{"epoch": e, **snapshot}``.

    The ``collapse`` analysis does the same and is part of the config, so its records are
    cached; this callback is for one-off runs (``fit(..., callbacks=[...])``).
    """

    def __init__(self, every: int, key: str = "collapse"):
        check_positive("every", every, minimum=1, inclusive=True)
        self.every, self.key = every, key

    def on_epoch_end(self, state) -> None:
        if "collapse" in state.config.analyses and self.key == "collapse":
            raise ConfigError("the config's 'collapse' analysis already records 'collapse'; "
                              "give the tracker another key or drop the analysis")
        if _due(state, self.every):
            snapshot = collapse_snapshot(state.model, state.data, state.config)
            state.extras.setdefault(self.key, []).append({"epoch": state.epoch + 1,
                                                          **snapshot})
