"""Deep imbalanced regression (chapter 5): data, LDS, FDS, Balanced MSE, auxiliary losses,
metrics and the trainer.

    from lt_lab.regression import make_regression_config, fit_regression
    record = fit_regression(make_regression_config("quick", reweight="sqrt_inv", lds=True,
                                                   fds=True)).record
"""

from lt_lab.regression.bins import LabelBins, shot_regions
from lt_lab.regression.config import (
    PROFILES,
    RegressionConfig,
    make_regression_config,
    regression_config_from_dict,
)
from lt_lab.regression.fds import FDS
from lt_lab.regression.lds import kernel_window, lds_weights, smooth_density
from lt_lab.regression.losses import balanced_mse, bin_classification_loss, ranksim_loss
from lt_lab.regression.metrics import regression_report
from lt_lab.regression.train import fit_regression

__all__ = [
    "FDS",
    "PROFILES",
    "LabelBins",
    "RegressionConfig",
    "balanced_mse",
    "bin_classification_loss",
    "fit_regression",
    "kernel_window",
    "lds_weights",
    "make_regression_config",
    "ranksim_loss",
    "regression_config_from_dict",
    "regression_report",
    "shot_regions",
    "smooth_density",
]
