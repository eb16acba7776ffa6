"""The fifth confirmatory declaration: edition-1's chapters 0-3 and 4b, re-declared in fp32
(issue 29), before any of their runs existed.

**Why.** Edition-1 (``a4c2763``) declared these five chapters' 35 claims at the profiles'
precision, bf16, as the Xeon (AMX) that made the exploratory records runs them. Its chapters 4
and 5 were trained and judged; these five chapters' 360 runs never started: every session since
the declaration ran on a 2-core AMD EPYC Zen 3 (AVX2, no native bf16), where bf16 is emulated
at about ten times fp32's cost, and no GPU was lent. At the stored fp32 records' wall times on
that CPU (one thread a run, two side by side: about 80 s a ``quick`` run and 800 s a ``long``
run with the classifier analyses; less for chapter 4b's runs, on at most 200 images a class), the
360 runs cost about 30 core-hours in fp32 (some 14 hours on two cores), against about ten times
that in emulated bf16. The guide's standard is the hardware's fastest precision: on
that CPU it is fp32. Editions 2-4 (chapter 6) were declared in fp32 for the same reason.

**What changes, and nothing else.** Every claim is edition-1's, field for field (statement,
source, measure, design, levels, n, group, role, gate, label, action), and so are its arms but
for their precision: each arm's config gains ``precision = "fp32"``, and the seeds are fresh
(the subset arms are renamed after their new subset seeds). No claim was added, dropped,
re-worded or re-levelled, and n is edition-1's, planned as edition-1 planned it (the lock's
planning reads the same bf16 exploratory twins, :data:`PLANNED_AS`). The engine changed since
edition-1's commit (the thread policy's runner, chapter 6's losses and analyses); a change
that alters what a config computes bumps its cache version, and these configs' keys at
edition-1's precision are what edition-1's lock hashed (its lock test passes), so by the
book's rule they compute what they did. Edition-1's part for these chapters is withdrawn
before its first record (no run of it is stored; a test checks that none ever is), so it
leaves the count; edition-1's lock is untouched, and its chapters 4 and 5 keep their verdicts.

**Seeds.** ``quick``: 500-509; ``long``: 500-504 (the first n of each, as in edition-1).
Chapter 0's descriptive ``subset-spread`` draws its ten long-tailed subsets at 510-519 (edition-1
drew them at 100-109, its own fresh range), trained at seeds 500 and 501. No run at any of
these seeds is in the book's store or its history.

**What was seen before this declaration.** Everything edition-1 saw: the exploratory records
of these claims and their verdicts (bf16, subset 0, seeds 0-9 at ``quick`` and 0-2 at
``long``), and, before 30 November, the same exploratory grid in fp32 (183 records, retrained
in bf16 by ``ae14c84``). Since edition-1, on the fp32 side, only near twins, each in chapter 6
with its numbers read: edition-2's CE arm at ``quick`` (seeds 200-209 and pilots 0-2) and
edition-4's at ``long`` (seeds 400-404, pilots 0-1) carry cRT, LWS and NCM beside the joint
classifier, as chapter 3's instance-balanced arms do (at ``long``: balanced accuracy 74.9 %
joint against 78.1 % with cRT); edition-3's LA-loss arm at ``quick`` (seeds 300-309, pilots
0-2) is chapter 2's LA loss at ``quick``. Also seen: edition-1's chapter 4 simulator verdict
(the geometry CE and LDT reach, which chapter 4b's CDT and LA claims echo in networks). fp32
runs of these exact configs were otherwise trained only at the smoke profile (tests) and in a
timing benchmark (``data/bench/grid-*.json``: CE at ``quick``, seeds 0-5, into a throw-away
store; no metric kept). This declaration changes no claim, level or n, so none of that could
shape what it tests.

**What a disagreement means.** The exploratory verdicts were reached in bf16 on a Xeon; the
counted ones will be reached in fp32 on whichever machine trains them (a GPU would run fp32
with its own kernels), each seed on its own subset. Where the two disagree, the precision and
the hardware join the seeds and subsets among the causes, and the chapter says so. The
quantities most exposed to precision are chapter 4b's: the NC1 ratio read on a log10 scale
(``nc1-orders-of-magnitude``), and the small cosines and ETF gaps of the collapse claims.

**Protocol.** As edition-1's. No pilot: 36 of the 55 arms have no exploratory record at any
precision (the ten subset arms, the sixteen CB-focal and VS candidates, the two every-epoch
evaluations, the fine τ grid, chapter 3's four ``long`` arms, chapter 4b's ETF, CDT and LA
arms: :data:`NEW_ARMS`), exactly as in edition-1, whose declaration relied on the book's tests,
which train every loss, sampler, head and analysis they use at the smoke profile. A run that
fails is retried at the same seed; one that cannot finish is listed as missing and its claims read
"not run"; a measure that cannot read its records reads "not judged". The counted grid is
trained from a clean checkout of this declaration's commit, ``python -m
lt_lab.book.confirmatory train edition-5 CHAPTER --jobs 2``, one chapter at a time, over several
sessions; a chapter's verdicts show once all its runs are stored, and not before (one look).
"""

from __future__ import annotations

from dataclasses import fields, replace

from lt_lab.book.confirmatory import edition1
from lt_lab.book.confirmatory.plan import Arm, Declared, Registered

CHAPTERS = ("00_long_tail", "01_reweighting", "02_margins", "03_decoupling",
            "04b_collapse_networks")
SUPERSEDES = {"edition-1": CHAPTERS}  # withdrawn there before any of their runs existed
SUBSET_SEEDS = tuple(range(510, 520))  # subset-spread's ten subsets (edition-1: 100-109)
SEEDS = {"quick": tuple(range(500, 510)), "long": tuple(range(500, 505)),
         "subsets": SUBSET_SEEDS}  # fresh: no run at these seeds existed
PRECISION = {"precision": "fp32"}

# The measures these claims (and their gates and assays) read, as edition-1 hashed them.
MEASURE_NAMES = ("difference", "share_of_gain", "reference_gain", "smallest_fix_gain",
                 "best_epoch_optimism", "optimism_difference", "tuned_difference",
                 "chosen_tau_near", "subset_table", "final_difference", "last_over_first")

OLD_SUBSETS = {arm.name: arm for arm in edition1.SUBSETS}


def fp32(arm: Arm) -> Arm:
    """Edition-1's ``arm`` in fp32; a subset arm also moves to its fresh subset seed."""
    if arm.name in OLD_SUBSETS:
        subset = SUBSET_SEEDS[edition1.SUBSETS.index(arm)]
        return replace(arm, name=f"CE, subset {subset}",
                       overrides={**arm.overrides, **PRECISION, "subset_seed": subset})
    return replace(arm, overrides={**arm.overrides, **PRECISION})


def _arms(arms: dict) -> dict:
    return {role: [fp32(a) for a in value] if isinstance(value, (list, tuple)) else fp32(value)
            for role, value in arms.items()}


def redeclared(claim: Registered) -> Declared:
    """``claim`` as edition-5 declares it: every field as edition-1's, its arms in fp32, its
    seeds the first n of this declaration's fresh range for its regime."""
    same = {f.name: getattr(claim, f.name) for f in fields(Registered)}
    return Declared(**{**same, "arms": _arms(claim.arms)}, seed_range=SEEDS[claim.regime])


CLAIMS = [redeclared(c) for c in edition1.CLAIMS if c.chapter in CHAPTERS]
PLANNED_AS = "edition-1"  # n as edition-1 planned it, from the same bf16 exploratory twins
NEW_ARMS = tuple(fp32(arm) for arm in edition1.NEW_ARMS)  # no exploratory twin at any precision
