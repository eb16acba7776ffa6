r"""Where class-balanced weights depart from inverse frequency, in units of n_max(1 − β).

Cui et al.'s effective number ``E_n = (1 − β^n)/(1 − β)`` is ``n`` while ``n(1 − β) ≪ 1`` and
saturates at ``1/(1 − β)`` beyond (CVPR 2019). Class-balanced weights ``w_c ∝ 1/E_{n_c}`` are
therefore inverse frequencies when the *head* class has ``n_max(1 − β) ≪ 1``, and flatten as
``n_max(1 − β)`` grows: a β chosen for CIFAR-10-LT's 5,000-image head is a different choice for
a 1,000-image head, so carry ``n_max(1 − β)`` over, not β.

The contrast the weights keep, tail against head, as a share of inverse frequency's:

    share = (w_tail / w_head) / (n_head / n_tail) = (E_{n_head} / n_head) / (E_{n_tail} / n_tail)

1 at β → 1 (inverse frequency), ``n_tail / n_head`` at β = 0 (no weighting).
"""

from __future__ import annotations

from lt_lab.errors import ConfigError
from lt_lab.reweighting.losses import effective_number


def beta_for_departure(n_max: int, departure: float) -> float:
    """The β with ``n_max(1 − β) = departure`` (rounded to 10 decimals, so a config's key does
    not depend on float noise): ``1 − departure / n_max``."""
    if not 0 < departure < n_max:
        raise ConfigError(f"departure={departure!r} must be in (0, n_max={n_max}) so that β is "
                          "in (0, 1)")
    return round(1 - departure / n_max, 10)


def inverse_share(class_counts, beta: float) -> float:
    """How much of inverse frequency's tail/head weight contrast class-balanced weights at
    ``beta`` keep: ``(E_{n_head}/n_head) / (E_{n_tail}/n_tail)``, head the largest class and
    tail the smallest."""
    head, tail = max(class_counts), min(class_counts)
    kept = effective_number([head, tail], beta)
    return float((kept[0] / head) / (kept[1] / tail))


def departure_table(class_counts, departures):
    """One row per ``n_max(1 − β)`` of ``departures``: β (as text, every digit shown) and
    :func:`inverse_share`."""
    import pandas as pd

    n_max = max(class_counts)
    rows = [{"n_max(1−β)": d, "β": f"{beta_for_departure(n_max, d):g}",
             "share of inverse frequency's tail/head contrast": inverse_share(
                 class_counts, beta_for_departure(n_max, d))} for d in departures]
    return pd.DataFrame(rows).set_index("n_max(1−β)")
