"""Alt texts that state a result are checked against the values the figure is drawn from.

A figure's alt text lives in its cell's metadata (``mystnb.image.alt``), written by hand, so it
can go stale while the figure, redrawn from the records, moves on. Every figure of the book is
listed here: its alt text describes only what is drawn (axes, layout, what a line is), or it
states a result and a test below reads the same stored records the chapter draws it from
(``data/results``, at the chapter's defaults) and checks each statement, or it is on the
list of those still to be checked.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from lt_lab.book.paths import chapter_notebooks

RESULTS = Path(__file__).resolve().parents[1] / "data" / "results"
SEEDS = (0, 1, 2)  # the chapters' default seeds

# Alt texts that state a result, each checked by a test below.
CHECKED = {"fig-ch4-gram-means", "fig-ch4-gram-classifier", "fig-ch5-mse-curves",
           "fig-ch5-error-density", "fig-ch4-nc-curves", "fig-ch4-minority-ratio",
           "fig-ch0-per-class", "fig-ch0-curves", "fig-ch1-per-class", "fig-ch1-vs-ratio",
           "fig-ch2-posthoc", "fig-ch3-norms", "fig-ch3-tau"}
# Alt texts that describe what is drawn, or a shape that holds by construction or by theory
# (the simulator's ETF, the effective number's limit, the benchmark's own histogram).
DESCRIBED = {
    "fig-ch0-class-counts", "fig-ch1-weights", "fig-ch2-toy", "fig-ch2-offsets",
    "fig-ch4-ufm-etf", "fig-ch4-ufm-sweep", "fig-ch4-mse-bias", "fig-ch4-mse-imbalanced",
    "fig-ch5-dataset", "fig-ch6-simulator", "fig-ch6-geometry", "fig-ch6-priors",
    "fig-ch6-sade", "fig-ch6-mixup",
}
# Alt texts that state a measured trend (a line rises, one lies lowest) with no test yet: to
# be moved to CHECKED as tests are written. A figure added to the book must join a set.
UNCHECKED: set[str] = set()


def alt_texts() -> dict[str, str]:
    """``{figure name: alt text}`` of every chapter figure but the forest plots."""
    found = {}
    for path in chapter_notebooks():
        for cell in nbformat.read(path, as_version=4).cells:
            spec = cell.metadata.get("mystnb", {})
            name = spec.get("figure", {}).get("name")
            if name and not name.startswith("forest-"):
                found[name] = spec.get("image", {}).get("alt", "")
    return found


def test_every_figure_is_checked_or_only_described():
    names = set(alt_texts())
    listed = CHECKED | DESCRIBED | UNCHECKED
    assert names == listed, (f"not listed: {sorted(names - listed)}; "
                             f"listed but gone: {sorted(listed - names)}")
    assert len(listed) == len(CHECKED) + len(DESCRIBED) + len(UNCHECKED)


@cache
def _store():
    from lt_lab.results import ResultsStore

    return ResultsStore(RESULTS)


def _load(config) -> dict:
    record = _store().load(config)
    if record is None:
        pytest.skip(f"record {config} not stored")
    return record


# --- chapter 0: plain cross-entropy at three imbalance ratios ------------------------------

@cache
def _ratio_runs() -> dict[float, list[dict]]:
    """Chapter 0's runs of its main subset, per imbalance ratio, at its default seeds."""
    from lt_lab.config import make_config

    base = make_config("quick", dataset="fashion_mnist", imbalance_ratio=100, seed=SEEDS[0],
                       device="auto")
    return {ratio: [_load(base.replace(imbalance_ratio=ratio, seed=seed)) for seed in SEEDS]
            for ratio in (1, 10, 100)}


def _class_means(records: list[dict]) -> pd.DataFrame:
    """Per class (head first): its name, training images and test accuracy (%), mean over
    seeds, as both panels draw them."""
    from lt_lab.figures import per_class_frame

    frame = per_class_frame({"runs": records})
    return frame.groupby("class").agg(name=("class name", "first"), images=("images", "first"),
                                      accuracy=("accuracy (%)", "mean"))


def test_ch0_per_class_alt_text_accuracy_rises_with_size_and_the_tail_bars_fall():
    alt = alt_texts()["fig-ch0-per-class"]
    runs = _ratio_runs()
    means = {ratio: _class_means(records) for ratio, records in runs.items()}
    for table in means.values():  # "head first": the classes by falling size, as at ρ = 100
        assert table["images"].is_monotonic_decreasing
    # top: "from 0 % (ρ = 100) and 6 % (ρ = 10) at the rarest class"
    assert "from 0 % (ρ = 100) and 6 % (ρ = 10) at the rarest class" in alt
    assert round(means[100]["accuracy"].iloc[-1]) == 0, means[100]
    assert round(means[10]["accuracy"].iloc[-1]) == 6, means[10]
    # "to above 90 % for every class of 350 images or more"
    assert "above 90 % for every class of 350 images or more" in alt
    for ratio in (10, 100):
        large = means[ratio][means[ratio]["images"] >= 350]
        assert len(large) >= 3 and (large["accuracy"] > 90).all(), means[ratio]
        # "rises with the number of images": a rank correlation, as the chapter's claim reads
        assert means[ratio]["images"].corr(means[ratio]["accuracy"], method="spearman") > 0.7
        # "in both lines the Dress class lies below the two next smaller classes"
        table = means[ratio].set_index("name")
        dress = table.index.get_loc("Dress")
        smaller = table["accuracy"].iloc[dress + 1:dress + 3]
        assert (table["accuracy"].iloc[dress] < smaller).all(), table
    assert "in both lines the Dress class lies below the two next smaller classes" in alt
    # bottom: "the bars of the five tail classes fall as the ratio grows, to 0 for Coat and
    # Shirt at ρ = 100, while those of the two head classes, T-shirt/top and Pullover, rise"
    assert "bars of the five tail classes fall as the ratio grows" in alt
    accuracy = pd.DataFrame({ratio: table.set_index("name")["accuracy"]
                             for ratio, table in means.items()})
    tail, head = accuracy.iloc[5:], accuracy.iloc[:2]
    assert (tail[1] > tail[10]).all() and (tail[10] > tail[100]).all(), accuracy
    assert "to 0 for Coat and Shirt at ρ = 100" in alt
    assert tail.index[-2:].tolist() == ["Coat", "Shirt"]
    assert (tail[100].iloc[-2:].round() == 0).all(), accuracy
    assert "the two head classes, T-shirt/top and Pullover, rise" in alt
    assert head.index.tolist() == ["T-shirt/top", "Pullover"]
    assert (head[1] < head[10]).all() and (head[10] < head[100]).all(), accuracy


def test_ch0_curves_alt_text_every_line_rises_and_they_are_ordered_by_ratio():
    alt = alt_texts()["fig-ch0-curves"]
    curves = {ratio: 100 * np.mean([r["curves"]["test_balanced_acc"] for r in records], axis=0)
              for ratio, records in _ratio_runs().items()}
    # "every line rises over training"
    assert "every line rises over training" in alt
    for ratio, curve in curves.items():
        assert np.all(np.diff(curve) > 0), (ratio, curve)
    # "the line of the balanced set ρ = 1 lies highest, the largest ρ lowest": at every epoch
    assert "ρ = 1 lies highest, the largest ρ lowest" in alt
    assert np.all(curves[1] > curves[10]) and np.all(curves[10] > curves[100]), curves


# --- chapter 1: re-weighting and re-sampling ------------------------------------------------

CB_BETA = 0.9999  # chapter 1's class-balanced beta
SWEEP_METHODS = ("CE", "CE, class-balanced weights (CB-CE)", "CE-DRW", "oversampling")


@cache
def _reweighting_runs(ratio: float) -> dict[str, list[dict]]:
    """Chapter 1's runs of the two figures at ``ratio``, at its default seeds, as its cells
    configure them (prior thresholding is CE's post-hoc view at τ = 1)."""
    from lt_lab.config import make_config
    from lt_lab.margins import POSTHOC_TAUS, posthoc_view

    base = make_config("quick", dataset="fashion_mnist", imbalance_ratio=ratio, seed=SEEDS[0],
                       device="auto")
    methods = {
        "CE": dict(analyses={"posthoc": {"taus": list(POSTHOC_TAUS)}}),
        "CE, class-balanced weights (CB-CE)": dict(loss="class_balanced",
                                                   loss_params={"beta": CB_BETA}),
        "CB-focal": dict(loss="cb_focal", loss_params={"beta": CB_BETA, "gamma": 1.0}),
        "CE-DRW": dict(loss="class_balanced",
                       loss_params={"beta": CB_BETA, "drw_start": base.lr_milestones[0]}),
        "oversampling": dict(sampler="oversample"),
        "undersampling": dict(sampler="undersample"),
    }
    if ratio != 100:  # the ratio sweep trains only its four methods
        methods = {name: extra for name, extra in methods.items() if name in SWEEP_METHODS}
    runs = {name: [_load(base.replace(seed=seed, **extra)) for seed in SEEDS]
            for name, extra in methods.items()}
    if ratio == 100:
        runs["CE + prior thresholding"] = posthoc_view(runs["CE"], tau=1.0)
    return runs


def test_ch1_per_class_alt_text_the_rarest_classes_and_the_largest():
    from lt_lab.figures import per_class_frame

    alt = alt_texts()["fig-ch1-per-class"]
    shown = ["CE", "CB-focal", "CE-DRW", "oversampling", "undersampling",
             "CE + prior thresholding"]
    runs = _reweighting_runs(100)
    frame = per_class_frame({name: runs[name] for name in shown})
    acc = frame.groupby(["images", "name"])["accuracy (%)"].mean().unstack("name")
    # "lowest for the two rarest classes (10 and 16 images)"
    assert "lowest for the two rarest classes (10 and 16 images)" in alt
    assert acc.index[:2].tolist() == [10, 16]
    for name in shown:
        assert acc[name].iloc[:2].max() <= acc[name].iloc[2:].min(), acc[name]
    # "where plain CE and CE-DRW stay at 0"
    assert "where plain CE and CE-DRW stay at 0" in alt
    assert (acc[["CE", "CE-DRW"]].iloc[:2] == 0).all().all(), acc
    # "the other four recipes reach 7 to 19 % on the rarest and 45 to 61 % on the next"
    assert "reach 7 to 19 % on the rarest and 45 to 61 % on the next" in alt
    others = acc.drop(columns=["CE", "CE-DRW"])
    assert others.shape[1] == 4
    assert 7 <= others.iloc[0].min() and others.iloc[0].max() <= 19.5, others.iloc[0]
    assert 44.5 <= others.iloc[1].min() and others.iloc[1].max() <= 61.5, others.iloc[1]
    # "for the four largest classes (215 images or more) plain CE is the highest line (level
    # with CE-DRW at 215 images), at 94 to 99 %"
    assert "plain CE is the highest line (level with CE-DRW at 215 images)" in alt
    large = acc[acc.index >= 215]
    assert len(large) == 4 and large.index[0] == 215
    assert (large["CE"].iloc[1:] == large.iloc[1:].max(axis=1)).all(), large
    assert large["CE"].iloc[0] >= large.iloc[0].max() - 0.5, large.iloc[0]
    assert abs(large["CE"].iloc[0] - large["CE-DRW"].iloc[0]) < 0.5, large.iloc[0]
    assert "at 94 to 99 %" in alt and large["CE"].between(93.5, 99).all(), large["CE"]
    # "undersampling is the lowest at the two largest classes, at about 65 %"
    assert "undersampling is the lowest at the two largest classes, at about 65 %" in alt
    largest = acc.iloc[-2:]
    assert (largest.idxmin(axis=1) == "undersampling").all(), largest
    assert largest["undersampling"].between(63, 67).all(), largest


def test_ch1_vs_ratio_alt_text_every_line_falls_and_ce_lies_lowest():
    alt = alt_texts()["fig-ch1-vs-ratio"]
    balanced = {ratio: {name: 100 * np.mean([r["metrics"]["balanced_acc"] for r in records])
                        for name, records in _reweighting_runs(ratio).items()
                        if name in SWEEP_METHODS}
                for ratio in (10, 100)}  # the chapter's ratios: compare_ratios and the main
    assert "with points at ρ = 10 and 100" in alt
    # "every line falls as the ratio grows"
    assert "every line falls as the ratio grows" in alt
    assert all(balanced[100][name] < balanced[10][name] for name in SWEEP_METHODS), balanced
    # "plain CE's line lies lowest": at both ratios
    assert "plain CE's line lies lowest" in alt
    for ratio, means in balanced.items():
        assert min(means, key=means.get) == "CE", (ratio, means)


# --- chapter 2: the post-hoc adjustment of cross-entropy ------------------------------------

def test_ch2_posthoc_alt_text_the_three_curves_and_the_reference():
    from lt_lab.config import make_config
    from lt_lab.margins import POSTHOC_TAUS
    from lt_lab.margins.figures import posthoc_frame

    alt = alt_texts()["fig-ch2-posthoc"]
    base = make_config("quick", dataset="fashion_mnist", imbalance_ratio=100, seed=SEEDS[0],
                       device="auto")
    taus = list(POSTHOC_TAUS)
    ce = [_load(base.replace(seed=seed, analyses={"posthoc": {"taus": taus}})) for seed in SEEDS]
    la = [_load(base.replace(seed=seed, loss="logit_adjusted", loss_params={"tau": 1.0}))
          for seed in SEEDS]
    frame = posthoc_frame(ce, taus, ("balanced_acc", "many_shot_acc", "few_shot_acc"))
    curve = frame.groupby(["metric", "τ"])["value"].mean()
    many, few = curve["many shot accuracy"], curve["few shot accuracy"]
    balanced = curve["balanced accuracy"]
    assert "post-hoc τ from 0 to 2" in alt and (min(taus), max(taus)) == (0, 2)
    # "many-shot accuracy falls as τ grows, from 95 % to 44 %"
    assert "many-shot accuracy falls as τ grows, from 95 % to 44 %" in alt
    assert (np.diff(many) < 0).all(), many
    assert round(many.iloc[0]) == 95 and round(many.iloc[-1]) == 44, many
    # "few-shot accuracy stays at 0 up to τ = 0.25 and then rises, to 68 %"
    assert "few-shot accuracy stays at 0 up to τ = 0.25 and then rises, to 68 %" in alt
    assert (few[few.index <= 0.25] == 0).all(), few
    assert (np.diff(few[few.index >= 0.25]) > 0).all() and round(few.iloc[-1]) == 68, few
    # "balanced accuracy rises to a peak at τ = 1 and then falls"
    assert "balanced accuracy rises to a peak at τ = 1 and then falls" in alt
    assert balanced.idxmax() == 1.0, balanced
    assert (np.diff(balanced[balanced.index <= 1]) > 0).all(), balanced
    assert (np.diff(balanced[balanced.index >= 1]) < 0).all(), balanced
    # "the logit-adjusted loss's balanced accuracy, about 75.6 %, level with that peak"
    assert "the logit-adjusted loss's balanced accuracy, about 75.6 %, level with that peak" in alt
    reference = 100 * np.mean([r["metrics"]["balanced_acc"] for r in la])
    assert round(reference, 1) == 75.6 and abs(reference - balanced.max()) < 0.5, reference


# --- chapter 3: the classifier fixes on the instance-balanced first stage --------------------

@cache
def _instance_balanced() -> list[dict]:
    """Chapter 3's instance-balanced first stage at its default seeds, as its cells configure
    it (the fixes run at the end of every first stage)."""
    from lt_lab.config import make_config

    fixes = ["crt", "tau_norm", "lws", "ncm", "wb_maxnorm"]
    base = make_config("quick", dataset="fashion_mnist", imbalance_ratio=100, seed=SEEDS[0],
                       device="auto", val_per_class=20,
                       analyses={"classifier_fixes": {"fixes": fixes}})
    return [_load(base.replace(seed=seed)) for seed in SEEDS]


def test_ch3_norms_alt_text_joint_falls_the_fixes_flatten_lws_zigzags():
    from lt_lab.decoupling.figures import weight_norm_frame

    alt = alt_texts()["fig-ch3-norms"]
    records = _instance_balanced()
    titles = {"joint": "joint", "crt": "cRT", "tau_norm": "τ-norm", "lws": "LWS",
              "wb_maxnorm": "WB stage 2"}
    frame = weight_norm_frame(records, titles)
    norm = frame.groupby(["classifier", "class rank"])["relative norm"].mean()
    line = {title: norm[title].to_numpy() for title in titles.values()}
    ranks = np.arange(len(line["joint"]))
    # "the joint classifier's norms fall from about 1.3 at the head classes to 0.5 at the rarest"
    assert "fall from about 1.3 at the head classes to 0.5 at the rarest" in alt
    joint = line["joint"]
    assert joint[0] == pytest.approx(1.3, abs=0.05) and joint[-1] == pytest.approx(0.5, abs=0.05)
    assert joint[-1] == joint.min() and pd.Series(joint).corr(
        pd.Series(ranks), method="spearman") < -0.9, joint
    # "τ-norm's and cRT's lines are flat, within 0.15 of the grey line at 1"
    assert "τ-norm's and cRT's lines are flat, within 0.15 of the grey line at 1" in alt
    for title in ("τ-norm", "cRT"):
        assert np.abs(line[title] - 1).max() < 0.15, (title, line[title])
    # "and so is WB stage 2's except at the two rarest classes, about 0.9 and 0.7"
    assert "WB stage 2's except at the two rarest classes, about 0.9 and 0.7" in alt
    wb = line["WB stage 2"]
    assert np.abs(wb[:-2] - 1).max() < 0.15, wb
    assert wb[-2] == pytest.approx(0.9, abs=0.05) and wb[-1] == pytest.approx(0.7, abs=0.05), wb
    # "LWS's line zigzags between about 0.6 and 1.4, lowest at the two head classes"
    assert "LWS's line zigzags between about 0.6 and 1.4, lowest at the two head classes" in alt
    lws = line["LWS"]
    assert lws.min() == pytest.approx(0.6, abs=0.05) and lws.max() == pytest.approx(1.4, abs=0.05)
    turns = np.count_nonzero(np.diff(np.sign(np.diff(lws))))  # up, down, up, ...: a zigzag
    assert turns >= len(lws) - 3, lws
    assert set(np.argsort(lws)[:2]) == {0, 1}, lws
    # bottom: "grey bars of training images per class on a log scale, falling from the most
    # frequent class to the rarest"
    assert "falling from the most frequent class to the rarest" in alt
    assert np.all(np.diff(records[0]["class_counts"]) < 0), records[0]["class_counts"]


def test_ch3_tau_alt_text_the_two_curves_and_the_chosen_taus():
    from lt_lab.decoupling.figures import SPLITS, selection_frame
    from lt_lab.decoupling.readers import selection

    alt = alt_texts()["fig-ch3-tau"]
    records = _instance_balanced()
    frame = selection_frame(records, "tau_norm")
    curve = frame.groupby(["split", "value"])["balanced accuracy"].mean()
    val, test = curve[SPLITS["val"]], curve[SPLITS["test"]]
    assert "against τ from 0 to 2" in alt
    assert (val.index.min(), val.index.max()) == (0, 2)
    # "rise from τ = 0, peak in the middle (validation at τ = 1, test at τ = 1.4)"
    assert "peak in the middle (validation at τ = 1, test at τ = 1.4)" in alt
    for split, peak in ((val, 1.0), (test, 1.4)):
        assert split.idxmax() == pytest.approx(peak), split
        assert (np.diff(split[split.index <= split.idxmax()]) >= 0).all(), split
    # "and fall, to about 65 % at τ = 2": each line's lowest point, below its start
    assert "and fall, to about 65 % at τ = 2" in alt
    for split in (val, test):
        assert split.iloc[-1] == split.min() < split.iloc[0], split
        assert split.iloc[-1] == pytest.approx(65, abs=0.5), split
    # "dotted vertical lines mark the τ chosen on validation for each seed: 0.4, 1 and 1.3"
    assert "the τ chosen on validation for each seed: 0.4, 1 and 1.3" in alt
    chosen = sorted(selection(record, "tau_norm")["chosen"] for record in records)
    assert chosen == pytest.approx([0.4, 1.0, 1.3]), chosen


# --- chapter 4b: the Gram matrices of the first seed -----------------------------------------

@cache
def _collapse_net():
    """Chapter 4b's quick network at its first seed, as its cells configure it."""
    from lt_lab.config import make_config

    return make_config("quick", dataset="fashion_mnist", imbalance_profile="step",
                       device="auto", seed=SEEDS[0], imbalance_ratio=100,
                       analyses={"collapse": {"every": 3}}, model="small_cnn", n_max=200,
                       test_per_class=500, augment=False, epochs=30, eval_every=10, lr=0.05,
                       weight_decay=5e-4, warmup_epochs=1,
                       lr_milestones=(0.5, 0.8), lr_decay=0.1)


COLLAPSE_VARIANTS = {"balanced": dict(imbalance_ratio=1), "imbalanced": {},
                     "imbalanced + oversampling": dict(sampler="oversample"),
                     "imbalanced + fixed ETF head": dict(head="etf"),
                     "mildly imbalanced": dict(imbalance_ratio=10)}


@cache
def _collapse_runs() -> dict[str, dict]:
    """Chapter 4b's quick networks at its first seed (the Gram matrices' seed)."""
    return {name: _load(_collapse_net().replace(**extra))
            for name, extra in COLLAPSE_VARIANTS.items() if name != "mildly imbalanced"}


@cache
def _collapse_seed_runs() -> dict[str, list[dict]]:
    """Chapter 4b's quick networks at its default seeds."""
    return {name: [_load(_collapse_net().replace(seed=seed, **extra)) for seed in SEEDS]
            for name, extra in COLLAPSE_VARIANTS.items()}


MINORITY = list(range(5, 10))  # the step profile's small half of Fashion-MNIST's 10 classes


def _minority_block(record: dict, of: str) -> float:
    from lt_lab.collapse import readers

    return readers.final_minority_cosine(record, MINORITY, of=of)


def test_gram_means_alt_text_red_only_for_the_plain_imbalanced_network():
    alt = alt_texts()["fig-ch4-gram-means"]
    runs = _collapse_runs()
    block = {name: _minority_block(record, "means") for name, record in runs.items()}
    # "a red block in the lower right" for the plain imbalanced network
    assert "plain imbalanced network's shows a red block" in alt
    assert block["imbalanced"] > 0.2, block
    # "in the oversampled network's and the fixed ETF head's maps that block is pale blue"
    assert "that block is pale blue" in alt
    assert -0.5 < block["imbalanced + oversampling"] < 0, block
    assert -0.5 < block["imbalanced + fixed ETF head"] < 0, block


def test_gram_classifier_alt_text_red_block_paler_with_oversampling_and_etf_simplex():
    alt = alt_texts()["fig-ch4-gram-classifier"]
    runs = _collapse_runs()
    block = {name: _minority_block(record, "classifier") for name, record in runs.items()}
    assert "minority block is red" in alt and "block is paler" in alt
    assert block["imbalanced"] > 0.2, block
    assert block["imbalanced + oversampling"] < block["imbalanced"], block
    # "the fixed ETF head's map is uniform pale blue off the diagonal": -1/(C-1) everywhere
    assert "uniform pale blue" in alt
    assert block["imbalanced + fixed ETF head"] == pytest.approx(-1 / 9, abs=1e-3)


def _ends(runs: dict[str, list[dict]], metric: str) -> dict[str, tuple[float, float]]:
    """(first, last) snapshot of ``metric`` per run, mean over seeds, as the figure draws it."""
    from lt_lab.collapse.figures import curve_frame

    mean = curve_frame(runs, metric).groupby(["run", "epoch"])["value"].mean()
    return {name: (mean[name].iloc[0], mean[name].iloc[-1]) for name in runs}


def test_nc_curves_alt_text_which_measures_fall_and_where_the_runs_end():
    alt = alt_texts()["fig-ch4-nc-curves"]
    every = _collapse_seed_runs()
    runs = {name: every[name] for name in ("balanced", "imbalanced", "imbalanced + oversampling")}
    ends = {metric: _ends(runs, metric) for metric in
            ("nc1", "equiangularity_means", "equinorm_means", "nc3", "nc4", "accuracy")}
    # "NC1 on a log scale, NC2 equiangularity and NC3 fall over training in all three runs"
    assert "NC2 equiangularity and NC3 fall over training in all three runs" in alt
    for metric in ("nc1", "equiangularity_means", "nc3"):
        assert all(last < first for first, last in ends[metric].values()), (metric, ends[metric])
    # "NC2 equinorm and NC4 fall in the balanced and the oversampled run but rise in the plain
    # imbalanced one"
    assert "NC2 equinorm and NC4 fall in the balanced and the oversampled run but rise" in alt
    for metric in ("equinorm_means", "nc4"):
        end = ends[metric]
        assert end["balanced"][1] < end["balanced"][0], (metric, end)
        assert end["imbalanced + oversampling"][1] < end["imbalanced + oversampling"][0], end
        assert end["imbalanced"][1] > end["imbalanced"][0], (metric, end)
    # "the training accuracy rises to nearly 100 % in the balanced and the oversampled run and
    # stays near 50 % in the plain imbalanced one"
    assert "rises to nearly 100 % in the balanced and the oversampled run" in alt
    for name in ("balanced", "imbalanced + oversampling"):
        first, last = ends["accuracy"][name]
        assert last > first and last > 0.98, (name, first, last)
    assert "stays near 50 % in the plain imbalanced one" in alt
    from lt_lab.collapse.figures import curve_frame

    plain = curve_frame({"imbalanced": runs["imbalanced"]}, "accuracy")
    plain = plain.groupby("epoch")["value"].mean()
    assert plain.between(0.4, 0.55).all(), plain
    # "at the last epoch the oversampled run is lowest on all five collapse measures and the
    # plain imbalanced run highest"
    assert "oversampled run is lowest on all five collapse measures" in alt
    assert "plain imbalanced run highest" in alt
    for metric, end in ends.items():
        if metric != "accuracy":
            last = {name: value for name, (_, value) in end.items()}
            assert min(last, key=last.get) == "imbalanced + oversampling", (metric, last)
            assert max(last, key=last.get) == "imbalanced", (metric, last)


def test_minority_ratio_alt_text_where_the_points_lie():
    from lt_lab.collapse.figures import ratio_frame

    alt = alt_texts()["fig-ch4-minority-ratio"]
    runs = _collapse_seed_runs()
    ratio_runs = {1: runs["balanced"], 10: runs["mildly imbalanced"], 100: runs["imbalanced"]}
    remedies = {"imbalanced + oversampling": (runs["imbalanced + oversampling"], "classifier"),
                "imbalanced + fixed ETF head": (runs["imbalanced + fixed ETF head"], "means")}
    frame = ratio_frame(ratio_runs, MINORITY, remedies, at=100)
    mean = frame.groupby(["series", "ratio"])["cosine"].mean()
    rows, means = mean["classifier rows"], mean["centred feature means"]
    simplex = -1 / 9
    # "a grey horizontal line marks the simplex value, −0.111"
    assert "marks the simplex value, −0.111" in alt and f"{simplex:.3f}" == "-0.111"
    # "stay near the simplex value, about −0.1, at R = 1 and 10"
    assert "stay near the simplex value, about −0.1, at R = 1 and 10" in alt
    for line in (rows, means):
        assert all(abs(line[ratio] - simplex) < 0.03 for ratio in (1, 10)), line
    # "rise steeply at R = 100, to about 0.4 (classifier rows) and 0.5 (feature means)"
    assert "to about 0.4 (classifier rows) and 0.5 (feature means)" in alt
    assert rows[100] == pytest.approx(0.4, abs=0.05) and means[100] == pytest.approx(0.5, abs=0.05)
    # "oversampling (classifier rows, about −0.1, at the simplex value) and the fixed ETF head
    # (feature means, about −0.2, below it) far lower than the plain network"
    assert "oversampling (classifier rows, about −0.1, at the simplex value)" in alt
    oversampled = mean["imbalanced + oversampling (classifier rows)"][100]
    assert abs(oversampled - simplex) < 0.02 and oversampled < rows[100] - 0.3, oversampled
    assert "the fixed ETF head (feature means, about −0.2, below it)" in alt
    fixed = mean["imbalanced + fixed ETF head (feature means)"][100]
    assert fixed == pytest.approx(-0.2, abs=0.03) and fixed < simplex, fixed
    assert fixed < means[100] - 0.3, fixed


# --- chapter 5: the MSE curves ----------------------------------------------------------------

@cache
def _regression_runs() -> dict[str, list[dict]]:
    from lt_lab.regression import make_regression_config

    base = make_regression_config("quick", dataset="rotated_fashion_mnist", imbalance_ratio=100,
                                  loss="mse", cls_classes=10, seed=0, device="auto")
    methods = {"vanilla": {}, **{v: dict(loss="balanced_mse", loss_params={"variant": v})
                                 for v in ("bmc", "gai")}}
    return {name: [_load(base.replace(seed=seed, **extra)) for seed in SEEDS]
            for name, extra in methods.items()}


def _last(records: list[dict], curve: str) -> float:
    """The curve's last point, mean over seeds, as the figure draws it."""
    return float(np.mean([record["curves"][curve][-1] for record in records]))


def test_mse_curves_alt_text_states_where_the_lines_end():
    alt = alt_texts()["fig-ch5-mse-curves"]
    runs = _regression_runs()
    train = {name: _last(records, "train_mse") for name, records in runs.items()}
    test = {name: _last(records, "test_mse") for name, records in runs.items()}
    assert "vanilla ends lowest" in alt
    assert train["vanilla"] < min(train["bmc"], train["gai"]), train
    assert "end within 2 % of one another" in alt
    assert max(test.values()) < 1.02 * min(test.values()), test
    assert "BMC's above vanilla's and GAI's level with it" in alt
    assert test["bmc"] > test["vanilla"], test
    assert abs(test["gai"] - test["vanilla"]) < 0.005 * test["vanilla"], test


def test_error_density_alt_text_bars_density_and_error_line():
    from lt_lab.regression.data import DIP_EVERY, DIP_OFFSET
    from lt_lab.regression.figures import error_frame
    from lt_lab.regression.readers import per_bin

    alt = alt_texts()["fig-ch5-error-density"]
    records = _regression_runs()["vanilla"]
    counts = np.asarray(per_bin(records[0], "train_count"), dtype=float)
    # "grey bars ... falling from left to right with a dip at every fourth bin"
    assert "falling from left to right with a dip at every fourth bin" in alt and DIP_EVERY == 4
    dips = np.arange(DIP_OFFSET, len(counts) - 1, DIP_EVERY)
    assert np.all(counts[dips] < counts[dips - 1]) and np.all(counts[dips] < counts[dips + 1])
    rest = np.delete(counts, dips)
    assert np.all(np.diff(rest) <= 0) and rest[-1] < rest[0], counts
    # "a smooth black density curve ... that peaks at the third bin and then falls"
    assert "peaks at the third bin and then falls" in alt
    density = np.asarray(per_bin(records[0], "lds_density"), dtype=float)
    assert int(np.argmax(density)) == 2 and density[-1] < 0.02 * density.max(), density
    # the blue line: the figure's per-bin test MAE, mean over seeds
    assert "a blue line of per-bin test MAE" in alt
    error = error_frame(records).groupby("label")["error"].mean().to_numpy()
    assert len(error) == len(counts)
    frequent = error[1:len(error) // 3]  # the left third of the bins, but the first
    # "between 1 and 2° over most of the frequent bins on the left, higher at the first bin"
    assert "between 1 and 2° over most of the frequent bins on the left" in alt
    assert np.mean((frequent >= 1) & (frequent <= 2)) >= 0.8, frequent
    assert "higher at the first bin" in alt and error[0] > frequent.max(), error[:len(error) // 3]
    # "rising steeply over the rare bins on the right to about 50° at the last"
    assert "to about 50° at the last" in alt
    assert int(np.argmax(error)) == len(error) - 1 and 40 < error[-1] < 60, error
    assert error[-1] > 10 * np.median(frequent), error
