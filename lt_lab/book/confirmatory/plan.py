"""What a confirmatory declaration fixes: arms, seeds, claims (issue 28, C2/C3).

An :class:`Arm` is one method in one regime: the profile and the config overrides of the
chapter's exploratory runs of it. A confirmatory run of an arm at seed ``s`` is that config
with ``seed = subset_seed = s`` (a fresh long-tailed training subset and validation split for
every seed; the classification test set is the same fixed draw for every seed, while chapter
5's regression data redraw their test samples too) and ``threads = 1`` (the thread policy of
issue 27: a CPU's kernels split work by thread count, so a record's numbers depend on it; one
thread lets two runs share a 2-core machine and still give the same record alone or in a
grid). A simulator arm's seed is a random start.

A :class:`Registered` claim names its arms, its measure (a function of
:mod:`lt_lab.book.confirmatory.measures`, by name), its design (a function of
:mod:`lt_lab.book.designs`, by name) with its levels, its regime, n, group and whether it is
the group's primary member. Seeds come from the regime's fresh range (:data:`SEEDS`), never
trained before: a claim uses the first n of it, and so does every arm it compares.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lt_lab.collapse.ufm import make_ufm_config
from lt_lab.config import make_config
from lt_lab.errors import ConfigError, check_choice
from lt_lab.regression.config import make_regression_config

# Fresh seeds, never trained before the declaration (issue 28, C3): the first n of a range.
SEEDS = {"quick": tuple(range(100, 110)), "long": tuple(range(100, 105))}
THREADS = 1  # the thread policy the declaration freezes (see the module docstring)
DESIGNS = ("directional", "superiority", "non_inferiority", "no_effect", "ratio", "spread",
           "count")
DESIGN_TEXT = {"directional": "directional", "superiority": "superiority",
               "non_inferiority": "non-inferiority", "no_effect": "no effect",
               "ratio": "ratio", "spread": "spread (REML)", "count": "count (binomial)"}
# How a claim enters the count (the ledger's headline counts ``counted`` primaries only).
ROLES = ("counted", "group member", "descriptive", "ours")


MAKERS = {"classification": make_config, "regression": make_regression_config,
          "ufm": make_ufm_config}  # the simulator: one thread always, no data subset


@dataclass(frozen=True)
class Arm:
    """One method in one regime: ``profile`` and the overrides of its exploratory runs."""

    name: str
    profile: str
    overrides: dict = field(default_factory=dict)
    fresh_subset: bool = True  # subset_seed = seed; False: the overrides fix subset_seed
    kind: str = "classification"  # or "regression", "ufm"

    def __post_init__(self):
        check_choice("kind", self.kind, tuple(MAKERS))

    def config(self, seed: int, *, exploratory: bool = False):
        """The confirmatory config at ``seed``; ``exploratory``: the stored exploratory one
        (the chapter's, at subset 0 and the process's threads), to check the arm against."""
        make = MAKERS[self.kind]
        if exploratory:
            return make(self.profile, seed=seed, **self.overrides)
        if self.kind == "ufm":  # a random start; it solves on one thread whatever the config
            return make(self.profile, **self.overrides, seed=seed)
        fresh = {"subset_seed": seed} if self.fresh_subset else {}
        return make(self.profile, **{**self.overrides, **fresh}, seed=seed, threads=THREADS)


@dataclass(frozen=True)
class Registered:
    """One claim as the declaration fixes it, in one regime.

    ``levels``: the design's arguments besides the values (``threshold``, ``partly``,
    ``margin``, ``delta``, ``p0``, ``direction``, ``null``); ``arms``: the measure's
    arguments, arm by role (e.g. ``{"a": arm, "b": arm}``); ``params``: the measure's other
    arguments; ``gate``: another claim id whose measure is this design's assay (the
    reference's gain, or the ratio's denominator) — already inside ``arms`` here, named for
    the reader. ``source``: where the paper says it; ``action``: what C2 did to the claim.
    ``gate``: a condition declared in advance under which the claim can fail at all —
    ``{"measure", "roles" (gate role → claim role), "params", "reads"}``; the verdict is "not
    applicable" unless the gate's values have a 95 % interval above 0 (e.g. cRT's few-shot
    lift needs a joint classifier whose few-shot accuracy is above 0).
    """

    id: str
    chapter: str
    regime: str
    paper: str
    statement: str
    source: str
    measure: str
    arms: dict
    design: str
    levels: dict
    n: int
    role: str = "counted"
    group: str | None = None
    unit: str = "points"
    params: dict = field(default_factory=dict)
    action: str = ""
    label: str = ""  # "ours", "our narrowing", ... : what the book adds to the paper
    gate: dict | None = None
    planning: dict = field(default_factory=dict)  # the exploratory sd n was planned from

    def __post_init__(self):
        check_choice("design", self.design, DESIGNS)
        check_choice("role", self.role, ROLES)
        check_choice("regime", self.regime, tuple(SEEDS))
        cap = len(SEEDS[self.regime])
        if not 2 <= self.n <= cap:
            raise ConfigError(f"claim {self.id!r}: n={self.n!r} must be in 2..{cap} at "
                              f"{self.regime}")
        for design, source in (("no_effect", "margin_source"),
                               ("non_inferiority", "delta_source")):
            if self.design == design and not str(self.levels.get(source, "")).strip():
                raise ConfigError(f"claim {self.id!r}: a {design} design needs levels"
                                  f"[{source!r}], where its margin comes from")

    @property
    def seeds(self) -> tuple[int, ...]:
        return SEEDS[self.regime][:self.n]

    def configs(self) -> dict:
        """``{(arm name, seed): config}``: every run the claim's verdict reads."""
        return {(arm.name, seed): arm.config(seed) for arm in _arms(self.arms)
                for seed in self.seeds}


@dataclass(frozen=True)
class Declared(Registered):
    """A claim of a declaration after edition-1, with its own fresh seeds: the first n of
    ``seed_range``, never trained before (edition-1's claims use the regime's range in
    :data:`SEEDS`)."""

    seed_range: tuple[int, ...] = ()

    def __post_init__(self):
        super().__post_init__()
        if len(self.seed_range) < self.n or len(set(self.seed_range)) != len(self.seed_range):
            raise ConfigError(f"claim {self.id!r}: seed_range must hold at least n={self.n} "
                              f"distinct seeds; got {self.seed_range!r}")

    @property
    def seeds(self) -> tuple[int, ...]:
        return tuple(self.seed_range[:self.n])


def _arms(arms) -> list[Arm]:
    """The arms of a claim's ``arms`` mapping, whose values are an Arm or a list of them."""
    found = []
    for value in arms.values():
        found.extend(value if isinstance(value, (list, tuple)) else [value])
    return found


def arm_list(claims) -> list[Arm]:
    """Every distinct arm of ``claims``, in order of first use."""
    seen = {}
    for claim in claims:
        for arm in _arms(claim.arms):
            seen.setdefault((arm.name, arm.profile), arm)
    return list(seen.values())
