"""The measures of the declared claims: records in, per-seed values out (issue 28, C2).

Each function takes ``runs`` — for each role of the claim's ``arms``, the arm's records in
seed order (a list of such lists for a role holding several arms) — and the claim's
``params``, and returns what its design reads: per-seed values (signed as the claim's
direction says, by the design), ``(part, whole)`` for a ratio, per-seed booleans for a count,
a subsets × seeds table for a spread. No record is skipped: a missing value is an error
naming the record, and a chapter reader that leaves seeds out is checked for it
(:func:`_all_seeds`). Accuracies are in points (100 × the stored fraction).

A *view* reads a record as another classifier would have predicted: ``{"posthoc": τ}`` (the
stored post-hoc adjusted metrics, chapter 2) or ``{"fix": name}`` (a decoupled classifier of
chapter 3, e.g. ``"crt"``).
"""

from __future__ import annotations

import math

from lt_lab.errors import ConfigError


def _metric(record: dict, metric: str) -> float:
    value = record.get("metrics", {}).get(metric)
    if value is None:
        raise ConfigError(f"record {record.get('key')} has no metric {metric!r}")
    return 100 * float(value)


def _view(record: dict, view: dict | None) -> dict:
    """The record itself, or as the view ``{"posthoc": τ}`` or ``{"fix": name}`` reads it."""
    if not view:
        return record
    if "posthoc" in view:
        from lt_lab.margins import posthoc_view

        return posthoc_view([record], view["posthoc"])[0]
    from lt_lab.decoupling.readers import as_fixed

    return as_fixed(record, view["fix"])


def _paired(a: list, b: list) -> list[tuple[dict, dict]]:
    if len(a) != len(b):
        raise ConfigError(f"paired arms hold {len(a)} and {len(b)} records: one per seed each")
    return list(zip(a, b, strict=True))


def _all_seeds(values: list, records: list, what: str) -> list[float]:
    """``values``, checked to hold one finite value per record (a reader that left a seed
    out, or gave NaN, is an error here: no seed is ever dropped)."""
    if len(values) != len(records) or not all(math.isfinite(v) for v in values):
        keys = [r.get("key") for r in records]
        raise ConfigError(f"{what}: {len(values)} finite values for the {len(records)} "
                          f"records {keys}: every seed must give one")
    return [float(v) for v in values]


# --- classification: differences, shares, views -------------------------------------------

def difference(runs: dict, metric: str = "balanced_acc", view_a: dict | None = None,
               view_b: dict | None = None) -> list[float]:
    """Per seed, ``metric`` of arm a minus arm b (points), each optionally viewed."""
    return [_metric(_view(a, view_a), metric) - _metric(_view(b, view_b), metric)
            for a, b in _paired(runs["a"], runs["b"])]


def share_of_gain(runs: dict, metric: str = "balanced_acc", view_part: dict | None = None,
                  view_whole: dict | None = None,
                  view_base: dict | None = None) -> tuple[list[float], list[float]]:
    """A ratio's ``(part, whole)``, per seed: part = ``part`` arm − base, whole = ``whole``
    arm − base, each viewed (e.g. post-hoc adjustment of CE against the LA loss, both over
    CE; weight decay alone against weight decay + MaxNorm, both over the naive network)."""
    part = [_metric(_view(p, view_part), metric) - _metric(_view(b, view_base), metric)
            for p, b in _paired(runs["part"], runs["base"])]
    whole = [_metric(_view(w, view_whole), metric) - _metric(_view(b, view_base), metric)
             for w, b in _paired(runs["whole"], runs["base"])]
    return part, whole


def reference_gain(runs: dict, metric: str = "balanced_acc", view_reference: dict | None = None,
                   view_ce: dict | None = None) -> list[float]:
    """Per seed, the reference arm minus the baseline arm: a non-inferiority claim's assay
    (the reference's own gain, shown in the same regime)."""
    return [_metric(_view(r, view_reference), metric) - _metric(_view(c, view_ce), metric)
            for r, c in _paired(runs["reference"], runs["ce"])]


def smallest_gain(runs: dict, metric: str = "balanced_acc") -> list[float]:
    """Per seed, arm a's ``metric`` minus the best of the ``others`` arms' (points): positive
    when a beats every other at that seed (an intersection-union reading of "dominant")."""
    others = runs["others"]
    if any(len(other) != len(runs["a"]) for other in others):
        raise ConfigError("every arm needs one record per seed")
    return [_metric(a, metric) - max(_metric(other[i], metric) for other in others)
            for i, a in enumerate(runs["a"])]


def smallest_fix_gain(runs: dict, fixes=("crt", "tau_norm", "lws", "ncm"),
                      metric: str = "balanced_acc") -> list[float]:
    """Per seed, the smallest of the fixes' gains over the joint classifier (points)."""
    return [min(_metric(_view(r, {"fix": f}), metric) - _metric(_view(r, {"fix": "joint"}),
                                                                 metric) for f in fixes)
            for r in runs["a"]]


def norm_size_correlation(runs: dict, fix: str = "joint") -> list[float]:
    """Per seed, Spearman's ρ of the classifier's per-class weight norms with class size."""
    from lt_lab.decoupling.readers import norm_size_correlation as correlation

    return [correlation(record, fix) for record in runs["a"]]


def level(runs: dict, metric: str, view: dict | None = None) -> list[float]:
    """Per seed, ``metric`` of arm a itself (points), optionally viewed: a gate's measure,
    e.g. the joint classifier's few-shot accuracy, which a lift over it needs above 0."""
    return [_metric(_view(r, view), metric) for r in runs["a"]]


# --- classification: curves ------------------------------------------------------------------

def _best_minus_last(record: dict, curve: str) -> float:
    values = record.get("curves", {}).get(curve)
    if not values:
        raise ConfigError(f"record {record.get('key')} has no curve {curve!r}")
    return 100 * (max(values) - values[-1])


def best_epoch_optimism(runs: dict, curve: str = "test_balanced_acc") -> list[float]:
    """Per seed, the best evaluation minus the last (points): what reporting the best test
    epoch, as the papers' code logs it, adds to the last epoch's number."""
    return [_best_minus_last(record, curve) for record in runs["a"]]


def optimism_difference(runs: dict, curve: str = "test_balanced_acc") -> list[float]:
    """Per seed, (best − last) of arm a minus (best − last) of arm b (points): whether a
    method's late decline exceeds the baseline's."""
    return [_best_minus_last(a, curve) - _best_minus_last(b, curve)
            for a, b in _paired(runs["a"], runs["b"])]


def _validation_score(record: dict) -> float:
    stored = record.get("extras", {}).get("posthoc_val", {}).get("0")
    if stored is None:
        raise ConfigError(f"record {record.get('key')} has no validation score; train it with "
                          "val_per_class > 0 and analyses={'posthoc': {'taus': [0.0]}}")
    return float(stored["balanced_acc"])


def chosen_candidates(runs: dict) -> list[int]:
    """Per seed, the index of the candidate (a hyperparameter setting of one method) with the
    best balanced accuracy on the validation split (the first on ties): the tuning the
    papers' authors did, made seed by seed and never on the test set. A candidate whose run
    could not finish at a seed (declared failed: its record is None) is not chosen there, as
    an author would not choose a diverged setting; a seed where none finished is an error."""
    candidates = runs["candidates"]
    seeds = {len(records) for records in candidates}
    if len(seeds) != 1:
        raise ConfigError("every candidate needs one record per seed")
    chosen = []
    for i in range(seeds.pop()):
        finished = [c for c in range(len(candidates)) if candidates[c][i] is not None]
        if not finished:
            raise ConfigError(f"no candidate finished at seed index {i}")
        chosen.append(max(finished, key=lambda c: (_validation_score(candidates[c][i]), -c)))
    return chosen


def tuned_difference(runs: dict, metric: str = "balanced_acc") -> list[float]:
    """Per seed, ``metric`` of the candidate chosen on the validation split
    (:func:`chosen_candidates`) minus arm b's (points)."""
    chosen = chosen_candidates(runs)
    return [_metric(runs["candidates"][c][i], metric) - _metric(b, metric)
            for i, (c, b) in enumerate(zip(chosen, runs["b"], strict=True))]


def chosen_tau_near(runs: dict, taus, centre: float = 1.0, within: float = 0.5) -> list[bool]:
    """Per seed, whether the post-hoc τ chosen on the validation split lies in
    ``centre ± within`` (:func:`lt_lab.margins.readers.validation_taus`)."""
    from lt_lab.margins.readers import validation_taus

    return [abs(tau - centre) <= within + 1e-12 for tau in validation_taus(runs["a"], taus)]


def subset_table(runs: dict, metric: str = "balanced_acc") -> list[list[float]]:
    """A spread claim's table: row i the subset i arm's records, one value per seed."""
    rows = [[_metric(record, metric) for record in arm_runs] for arm_runs in runs["subsets"]]
    if len({len(row) for row in rows}) != 1:
        raise ConfigError("a spread table needs the same seeds for every subset")
    return rows


# --- neural collapse in trained networks (chapter 4b) --------------------------------------

def final_difference(runs: dict, metric: str, minority, scale: float = 1.0) -> list[float]:
    """Per seed, ``scale`` × (arm a − arm b) of an end-of-training quantity of
    :func:`lt_lab.collapse.readers.with_final_state` (``minority_cosine``, ``minority_acc``…)."""
    from lt_lab.collapse.readers import paired_measures

    values = paired_measures({"a": runs["a"], "b": runs["b"]}, list(minority),
                             {"x": ("a", "b", metric, scale)})["x"]
    return _all_seeds(values, runs["a"], f"final_difference of {metric}")


def last_over_first(runs: dict, metric: str, log10: bool = False) -> list[float]:
    """Per seed, ``metric`` at the last collapse snapshot over the first (epoch 1 where the
    config snapshots it), or its log10."""
    from lt_lab.collapse.readers import last_over_first as ratios

    values = ratios(runs["a"], metric)
    return [math.log10(v) if log10 else v for v in _all_seeds(values, runs["a"], metric)]


def etf_gap_by_instance(runs: dict) -> list[float]:
    """Per problem instance (``runs["a"][i]``, ``runs["b"][i]``: one simulator arm each, its
    random starts in order), the mean over starts of :func:`classifier_etf_gap`."""
    if len(runs["a"]) != len(runs["b"]):
        raise ConfigError("each problem instance needs an arm of each loss")
    pairs = zip(runs["a"], runs["b"], strict=True)
    return [sum(gaps) / len(gaps) for gaps in
            (classifier_etf_gap({"a": a, "b": b}) for a, b in pairs)]


def classifier_etf_gap(runs: dict) -> list[float]:
    """Per random start of the simulator, log10 of arm a's distance of the classifier from a
    simplex ETF minus arm b's (positive: b is closer, by that many orders of magnitude). The
    distance is the larger of the rows' equiangularity and equinorm (NC2 of ``W``)."""
    def distance(record):  # floored at the records' rounding (8 decimals): log10(0) is no number
        metrics = record["metrics"]
        return max(metrics["equiangularity_classifier"], metrics["equinorm_classifier"], 1e-8)

    return _all_seeds([math.log10(distance(a)) - math.log10(distance(b))
                       for a, b in _paired(runs["a"], runs["b"])], runs["a"], "ETF gap")


# --- imbalanced regression (chapter 5) --------------------------------------------------------

def reduction(runs: dict, metric: str, split: str = "test") -> list[float]:
    """Per seed, 100 × (b − a) / b of a regression metric (% of arm b's): how much arm a
    lowers it."""
    from lt_lab.regression.readers import reduction as reduce

    return _all_seeds(reduce(runs["a"], runs["b"], metric, split), runs["a"],
                      f"reduction of {metric}")


def reduction_gap(runs: dict, metric: str = "mse") -> list[float]:
    """Per seed, (reduction by a over b) − (reduction by c over d), in points of %: e.g. what
    the classification loss gains on imbalanced labels minus what it gains on uniform ones."""
    first = reduction({"a": runs["a"], "b": runs["b"]}, metric)
    second = reduction({"a": runs["c"], "b": runs["d"]}, metric)
    return [x - y for x, y in zip(first, second, strict=True)]


def stage_reduction(runs: dict, metric: str) -> list[float]:
    """Per seed, the reduction a two-stage run's second stage brings over its own base (%)."""
    from lt_lab.regression.readers import stage_reduction as reduce

    return _all_seeds(reduce(runs["a"], metric), runs["a"], f"stage reduction of {metric}")


def margin_over_best(runs: dict, metric: str) -> list[float]:
    """Per seed, arm a's metric minus the smallest of the ``others`` arms' (negative: a best)."""
    from lt_lab.regression.readers import margin_over_best as margin

    return _all_seeds(margin(runs["a"], runs["others"], metric), runs["a"],
                      f"margin over the best of {metric}")


def error_difference(runs: dict, metric: str = "mae") -> list[float]:
    """Per seed, arm b's regression metric minus arm a's (positive: a lowers it)."""
    from lt_lab.regression.readers import metric as value

    return [value(b, metric) - value(a, metric) for a, b in _paired(runs["a"], runs["b"])]


def smoothed_density_gap(runs: dict) -> list[float]:
    """Per seed, |r(error, LDS-smoothed density)| − |r(error, count)| over the bins."""
    from lt_lab.regression.readers import correlation_gap, density_correlations, per_bin

    counts = [per_bin(record, "train_count").tolist() for record in runs["a"]]
    if any(c != counts[0] for c in counts):  # the reader reads the first record's counts
        raise ConfigError("the records' training counts per bin differ: the correlations "
                          "would read the first record's for all")
    return _all_seeds(correlation_gap(density_correlations(runs["a"])), runs["a"],
                      "correlation gap")


# --- chapter 6: an analysis's last snapshot -----------------------------------------------

def _last(record: dict, analysis: str, quantity: str) -> float:
    snapshots = record.get("extras", {}).get(analysis)
    if not snapshots or quantity not in snapshots[-1]:
        raise ConfigError(f"record {record.get('key')} has no {analysis!r} snapshot with "
                          f"{quantity!r}")
    return float(snapshots[-1][quantity])


def snapshot_difference(runs: dict, analysis: str = "scl_geometry",
                        quantity: str = "of_distance") -> list[float]:
    """Per seed, ``quantity`` of analysis ``analysis``'s last snapshot (the last epoch's) in
    arm a minus arm b, on its own scale (e.g. an orthogonal-frame distance, in [0, 2])."""
    return _all_seeds([_last(a, analysis, quantity) - _last(b, analysis, quantity)
                       for a, b in _paired(runs["a"], runs["b"])], runs["a"],
                      f"{analysis}.{quantity}")


def snapshot_margin(runs: dict, level: float, analysis: str = "scl_geometry",
                    quantity: str = "of_distance") -> list[float]:
    """Per seed, ``level`` minus ``quantity`` of arm a's last snapshot: positive when the
    arm ended below the level (a gate: e.g. class means closer to an orthogonal frame than a
    simplex ETF is, the sign that training reached the regime a claim is about)."""
    return _all_seeds([float(level) - _last(a, analysis, quantity) for a in runs["a"]],
                      runs["a"], f"{analysis}.{quantity}")


# --- chapter 6, F2: scores on SADE's resampled test priors --------------------------------

def _prior_value(record: dict, source: dict, prior: str, metric: str) -> float:
    """``metric`` (points) of ``record`` on the test set resampled to ``prior``, read where
    ``source`` says: ``{"analysis": "agnostic"}`` (the model's own prediction),
    ``{"analysis": "sade_aggregation", "key": "aggregated"}`` (or ``"mean"``: SADE's experts
    aggregated at test time, or averaged), or ``{"analysis": "sade_aggregation", "key":
    "experts", "expert": k}`` (expert k alone: 0 forward, 1 uniform, 2 backward)."""
    try:
        entry = record["extras"][source["analysis"]][prior]
        if "key" in source:
            entry = entry[source["key"]]
        if "expert" in source:
            entry = entry[source["expert"]]
        return 100 * float(entry[metric])
    except (KeyError, IndexError, TypeError):
        raise ConfigError(f"record {record.get('key')} has no {metric!r} on prior {prior!r} "
                          f"where {source} reads it") from None


def prior_mean_difference(runs: dict, source_a: dict, source_b: dict, priors=None,
                          metric: str = "acc") -> list[float]:
    """Per seed, the mean over ``priors`` (None: SADE's eleven) of arm a's ``metric`` on each
    resampled test set, read by ``source_a`` (:func:`_prior_value`), minus arm b's, read by
    ``source_b`` (points): SADE's summary of a method whose test prior is unknown. Arms a and
    b may be the same arm read two ways (e.g. one expert against another)."""
    from lt_lab.beyond.agnostic import SADE_TEST_PRIORS

    priors = tuple(priors or SADE_TEST_PRIORS)

    def mean(record, source):
        return sum(_prior_value(record, source, p, metric) for p in priors) / len(priors)

    return _all_seeds([mean(a, source_a) - mean(b, source_b)
                       for a, b in _paired(runs["a"], runs["b"])], runs["a"],
                      f"mean of {metric} over {len(priors)} priors")


def _weight(record: dict, prior: str, expert: int) -> float:
    try:
        return float(record["extras"]["sade_aggregation"][prior]["weights"][expert])
    except (KeyError, IndexError, TypeError):
        raise ConfigError(f"record {record.get('key')} has no aggregation weight of expert "
                          f"{expert} on prior {prior!r}") from None


def weight_shift(runs: dict, expert: int = 2, prior: str = "backward50",
                 against: str = "forward50") -> list[float]:
    """Per seed, the test-time aggregation weight (in [0, 1]) SADE gives ``expert`` (2: the
    backward one) on the test set resampled to ``prior`` minus the weight it gives it on
    ``against``: whether the weights follow the test prior."""
    return _all_seeds([_weight(a, prior, expert) - _weight(a, against, expert)
                       for a in runs["a"]], runs["a"], f"weight of expert {expert}")


MEASURES = {f.__name__: f for f in (
    difference, share_of_gain, reference_gain, smallest_gain, smallest_fix_gain,
    norm_size_correlation, level, best_epoch_optimism, optimism_difference, tuned_difference,
    chosen_tau_near, subset_table, final_difference, last_over_first, classifier_etf_gap,
    etf_gap_by_instance, reduction, reduction_gap, stage_reduction, margin_over_best,
    error_difference, smoothed_density_gap, snapshot_difference, snapshot_margin,
    prior_mean_difference, weight_shift)}
