"""Chapter 1, reweighting and resampling: class weights (inverse frequency, effective
number), the class-balanced, focal and CB-focal losses, deferred re-weighting (DRW). The
samplers live with the data (:mod:`lt_lab.data.samplers`), since every chapter uses them."""

from lt_lab.reweighting import losses  # noqa: F401  (register the losses)
from lt_lab.reweighting.losses import class_weights, effective_number

__all__ = ["class_weights", "effective_number"]
