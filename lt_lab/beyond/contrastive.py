r"""The supervised contrastive loss (SCL) and the projection head that feeds it.

Khosla et al., "Supervised Contrastive Learning" (NeurIPS 2020), eq. 2, the
``L_out`` form (the mean over positives *outside* the log, the form the paper recommends).
With unit-length features ``z_i`` (every view of every image is an anchor ``i ∈ I``),
``A(i) = I \ {i}`` and the positives ``P(i) = {p ∈ A(i) : y_p = y_i}``::

    L = (1/|I|) Σ_i −1/|P(i)| Σ_{p ∈ P(i)} log( exp(z_i·z_p/τ) / Σ_{a ∈ A(i)} exp(z_i·z_a/τ) )

``τ`` is the ``temperature`` (0.1: Khosla et al.'s CIFAR setting and Kini et al.'s
``--SCL_temp``). An anchor with no positive in the batch (a class seen once, one view)
contributes 0 and still counts in ``|I|``.

Checked against the official code (read, not copied):

* HobbitLong/SupContrast ``losses.py`` (``SupConLoss``, ``contrast_mode='all'``): features
  of shape ``(N, V, d)`` (V views), every view an anchor, self-contrast masked out; the
  loss is multiplied by ``temperature / base_temperature`` (both 0.07 by default, so 1).
  An anchor without positives divides by zero there (NaN); with two views every anchor has
  one, its other view. Kini et al.'s copy (valavakilian/SCL_Geometry_And_Batching,
  ``code/criterion.py``) gives such an anchor 0 and keeps it in the mean, as here (one
  view, a class drawn once in a batch). Kini et al. call it with ``temperature=0.1`` and
  the default ``base_temperature=0.07``: their loss is this one times 0.1/0.07; ``base_temperature``
  reproduces that constant factor when set (``None``: no factor, the paper's formula).
* Kini et al. (``code/models.py``) L2-normalise the backbone's output (a torchvision
  ResNet's pooled features, whose last block ends in a ReLU) and have no projection MLP.
  Their released code always keeps that ReLU (``--activation`` only names the log folder),
  so the variant without it follows the paper: a linear last layer. Here the ReLU is the
  model's, not the loss's: :class:`ProjectionHead` with ``relu=True`` or ``False``.

The loss L2-normalises the features it is given (``normalize=True``), so it can take the
raw penultimate features that the trainer passes to a loss with ``takes_features``
(:class:`SupConLoss`); normalising features that already have unit length changes nothing.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lt_lab.constraints import Flag, Interval, Optional
from lt_lab.errors import ConfigError
from lt_lab.losses import register

TEMPERATURE = Interval(float, 0, None, closed="neither")
VIEWS = Interval(int, 1, None, why="augmented views of each image the trainer passes")
NORM_FLOOR = 1e-12  # F.normalize's eps: a zero feature stays zero instead of NaN


def _views(features: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``features`` (N, d) or (N, V, d) as anchors (V·N, d), view-major like the official
    code's ``cat(unbind(features, 1))``, and their labels (V·N,)."""
    if features.ndim == 2:
        features = features.unsqueeze(1)
    if features.ndim != 3:
        raise ConfigError(f"features must have shape (N, d) or (N, views, d); got "
                          f"{tuple(features.shape)}")
    labels = torch.as_tensor(labels, device=features.device)
    if labels.ndim != 1 or labels.shape[0] != features.shape[0]:
        raise ConfigError(f"labels must have shape (N,) = ({features.shape[0]},) to match "
                          f"features {tuple(features.shape)}; got {tuple(labels.shape)}")
    views = features.shape[1]
    return features.transpose(0, 1).reshape(-1, features.shape[2]), labels.repeat(views)


def supcon_loss(features: torch.Tensor, labels: torch.Tensor, temperature: float = 0.1,
                base_temperature: float | None = None, normalize: bool = True) -> torch.Tensor:
    """The supervised contrastive loss ``L_out`` (Khosla et al. 2020, eq. 2; formula in the
    module docstring), averaged over every view of every image.

    ``features``: (N, d), one view per image, or (N, V, d), V views per image (the other
    views of an image are among its positives). ``labels``: (N,) class indices.
    ``temperature``: τ > 0. ``base_temperature``: when set, the loss is multiplied by
    ``temperature / base_temperature`` as in the official code (None: no factor).
    ``normalize``: L2-normalise the features first (the loss is defined on unit vectors).
    """
    TEMPERATURE.check("temperature", temperature)
    Optional(TEMPERATURE).check("base_temperature", base_temperature)
    Flag().check("normalize", normalize)
    anchors, anchor_labels = _views(features, labels)
    if normalize:
        anchors = F.normalize(anchors, dim=1, eps=NORM_FLOOR)
    similarity = anchors @ anchors.T / temperature
    self_pair = torch.eye(len(anchors), dtype=torch.bool, device=anchors.device)
    # log softmax over A(i) = every other anchor: the diagonal is left out of the sum
    log_prob = similarity - torch.logsumexp(similarity.masked_fill(self_pair, -torch.inf),
                                            dim=1, keepdim=True)
    positive = (anchor_labels[:, None] == anchor_labels[None, :]) & ~self_pair
    count = positive.sum(1)
    summed = log_prob.masked_fill(~positive, 0.0).sum(1)
    per_anchor = -summed / count.clamp_min(1)  # 0 for an anchor without positives
    loss = per_anchor.mean()
    if base_temperature is not None:
        loss = loss * (temperature / base_temperature)
    return loss


@register("supcon")
class SupConLoss(nn.Module):
    """:func:`supcon_loss` as a registered loss, called as ``loss(features, labels)``.

    It reads the penultimate features, not the logits (``takes_features``): the trainer
    passes them; a classifier is then fitted on the frozen features (Khosla et al.'s linear
    evaluation; see ``probe``). ``class_counts`` is unused (SCL has no class-size term).
    Features of shape (N, V, d) carry V augmented views of each image: ``views`` (2, as
    Khosla et al. and Kini et al. train) is what the trainer reads as ``takes_views`` and
    passes (:func:`lt_lab.train.training_batch`); ``views=1`` trains on one view.

    ``probe`` (default True): the model's head is trained at the same time as a **linear
    probe** on the *detached* features of the first view, with cross-entropy (the "online
    linear evaluation" of self-supervised codes): it never moves the features, and the
    record's metrics are then a linear classifier's on them, not a random head's. The
    decoupled classifiers of :mod:`lt_lab.decoupling` (cRT: a fresh head on the frozen
    features, class-balanced) are the classifier Khosla et al. train after.
    """

    takes_features = True  # a trainer passes the penultimate features, not the logits
    parameter_constraints = {"temperature": TEMPERATURE,
                             "base_temperature": Optional(TEMPERATURE), "views": VIEWS,
                             "probe": Flag()}

    def __init__(self, class_counts: torch.Tensor | None = None, temperature: float = 0.1,
                 base_temperature: float | None = None, views: int = 2, probe: bool = True):
        super().__init__()
        TEMPERATURE.check("temperature", temperature)
        Optional(TEMPERATURE).check("base_temperature", base_temperature)
        VIEWS.check("views", views)
        Flag().check("probe", probe)
        self.temperature, self.base_temperature = temperature, base_temperature
        self.takes_views = views  # the trainer stacks this many augmented views, (N, V, d)
        self.probe = probe
        self._head: list[nn.Module] = []  # the model's head, not a submodule of the loss

    def bind_head(self, head: nn.Module) -> SupConLoss:
        """The head the linear probe trains (the trainer calls this for every loss with
        ``takes_features``); SCL itself does not read it."""
        self._head = [head]
        return self

    def probe_loss(self, features, labels) -> torch.Tensor:
        """Cross-entropy of the bound head on the detached first view of ``features``."""
        if not self._head:
            raise ConfigError("probe=True needs the model's head: call bind_head(head) first")
        first = features[:, 0] if features.ndim == 3 else features
        return F.cross_entropy(self._head[0](first.detach()).float(), labels)

    def forward(self, features, labels):
        loss = supcon_loss(features, labels, self.temperature, self.base_temperature)
        return loss + self.probe_loss(features, labels) if self.probe else loss

    def extra_repr(self) -> str:
        return (f"temperature={self.temperature}, base_temperature={self.base_temperature}, "
                f"views={self.takes_views}, probe={self.probe}")


def project(features: torch.Tensor, weight: torch.Tensor | None = None,
            bias: torch.Tensor | None = None, relu: bool = True) -> torch.Tensor:
    """``normalize(ReLU(W h + b))``: the features SCL sees (the linear map when ``weight``
    is given, the ReLU when ``relu``), each row scaled to unit length."""
    Flag().check("relu", relu)
    if weight is not None:
        features = F.linear(features, weight, bias)
    if relu:
        features = F.relu(features)
    return F.normalize(features, dim=-1, eps=NORM_FLOOR)


class ProjectionHead(nn.Module):
    """The last layer of an SCL model: an optional linear map ``in_features → out_features``
    (``out_features=None``: none, as in Kini et al.'s models), an optional ReLU (Kini et
    al.'s switch: with it the features are non-negative and, under imbalance, converge to
    an orthogonal frame; without it, SCL's geometry loses its symmetry), then L2
    normalisation (:func:`project`). A feature whose coordinates are all negative before
    the ReLU comes out as zero, not NaN (a dead feature)."""

    def __init__(self, in_features: int, out_features: int | None = None, relu: bool = True):
        super().__init__()
        Interval(int, 1, None).check("in_features", in_features)
        Optional(Interval(int, 1, None)).check("out_features", out_features)
        Flag().check("relu", relu)
        self.relu = relu
        self.linear = None if out_features is None else nn.Linear(in_features, out_features)

    def forward(self, features):
        if self.linear is None:
            return project(features, relu=self.relu)
        return project(features, self.linear.weight, self.linear.bias, relu=self.relu)

    def extra_repr(self) -> str:
        return f"relu={self.relu}"
