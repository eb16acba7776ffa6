"""Chapter 2, margins and logit adjustment: LDAM(-DRW), the logit-adjusted loss, Balanced
Softmax, VS, post-hoc adjustment (an analysis), and the 2-D toy."""

from lt_lab.margins import losses, posthoc  # noqa: F401  (register losses and the analysis)
from lt_lab.margins.losses import ldam_margins, log_prior, logit_adjust
from lt_lab.margins.posthoc import POSTHOC_TAUS, posthoc_view

__all__ = ["POSTHOC_TAUS", "ldam_margins", "log_prior", "logit_adjust", "posthoc_view"]
