"""Does a fresh result reproduce a stored record? Exactly on the same hardware, within a
measured tolerance elsewhere — and the answer says which comparison it made.

Torch's CPU kernels are deterministic for one machine, thread count, torch version and
precision, so a config retrained there gives the stored numbers bit for bit. Another CPU
picks other kernels (AVX2 against AVX-512, AMX tiles for bf16) and rounds differently: the
numbers agree to a few units in the fifth significant digit after two epochs, and drift
further with training. So a comparison with a stored record first asks whether the two
were made on the same **hardware identity** (:func:`identity`):

* the device: the CPU's model name, its vendor, family, model and stepping numbers, the ISA
  extensions that choose torch's kernels, and the thread count; or the GPU's name and
  compute capability (:func:`lt_lab.provenance.hardware`);
* the torch version;
* the precision the run resolved to (bf16, fp32...).

Equal and complete identities are compared **exactly**. Otherwise each compared field is
checked within its tolerance, which the caller states (measured on the CPUs the project
meets: see the tests that use it). A record made before lt_lab stored the CPU's family and
model numbers has an incomplete identity, so it is always compared within tolerance: its
model name alone ("Intel(R) Xeon(R) Processor") covers several generations.

    comparison = compare(stored, fresh, {"metrics.balanced_acc": 0.01, "curves.lr": 0.0})
    assert comparison.ok, comparison.report()

This is the one place where tests compare numbers they computed with numbers in
``data/results/`` (``tests/test_reproduce.py`` holds a guard that checks so).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from lt_lab.errors import ConfigError

EXACT = "exact"
TOLERANCE = "within tolerance"
# The identity's parts that a CPU or GPU record must name to count as complete.
REQUIRED = {"cpu": ("model", "cpu", "isa", "threads"), "cuda": ("name", "capability")}


def identity(record: dict) -> dict:
    """What must match for bit-identical numbers: ``{"hardware", "torch", "precision"}``
    of a record (or of any dict carrying a record's provenance fields)."""
    versions = record.get("versions")
    return {"hardware": record.get("hardware"),
            "torch": versions.get("torch") if isinstance(versions, dict) else None,
            "precision": record.get("precision")}


def missing_parts(ident: dict) -> list[str]:
    """The parts an identity lacks (empty when complete): an incomplete identity never
    gives an exact comparison."""
    hardware = ident.get("hardware")
    if not isinstance(hardware, dict) or hardware.get("type") not in REQUIRED:
        return ["hardware"]
    lacking = [f"hardware.{name}" for name in REQUIRED[hardware["type"]]
               if hardware.get(name) in (None, "", [])]
    return lacking + (["torch"] if not ident.get("torch") else [])


def differing_parts(a: dict, b: dict) -> list[str]:
    """The dotted names of the identity parts in which ``a`` and ``b`` differ."""
    parts = []
    for name in ("hardware", "torch", "precision"):
        if name == "hardware" and isinstance(a.get(name), dict) and isinstance(b.get(name),
                                                                               dict):
            keys = sorted(set(a[name]) | set(b[name]))
            parts += [f"hardware.{k}" for k in keys if a[name].get(k) != b[name].get(k)]
        elif a.get(name) != b.get(name):
            parts.append(name)
    return parts


def describe(ident: dict) -> str:
    """One line: ``"cpu AMD EPYC (AuthenticAMD family 25 model 1) avx2+fma, 2 threads, torch
    2.13.0+cpu, bf16"``."""
    hardware = ident.get("hardware") if isinstance(ident.get("hardware"), dict) else {}
    if hardware.get("type") == "cuda":
        device = f"cuda {hardware.get('name', '?')} (sm {hardware.get('capability', '?')})"
    elif hardware.get("type") == "cpu":
        numbers = f" ({hardware['cpu']})" if hardware.get("cpu") else ""
        isa = "+".join(hardware.get("isa") or []) or "no listed ISA extensions"
        device = (f"cpu {hardware.get('model', '?')}{numbers} {isa}, "
                  f"{hardware.get('threads', '?')} threads")
    else:
        device = str(hardware.get("type", "unknown device"))
    precision = ident.get("precision") or "no autocast precision stated"
    return f"{device}, torch {ident.get('torch') or '?'}, {precision}"


@dataclass(frozen=True)
class Comparison:
    """The outcome of :func:`compare`: which comparison was made, why, and what differed."""

    mode: str  # EXACT or TOLERANCE
    why: str
    largest: dict[str, float] = field(default_factory=dict)  # field -> largest |difference|
    failures: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failures

    def report(self) -> str:
        lines = [f"compared {self.mode}: {self.why}"]
        lines += [f"  {name}: largest difference {value:.3g}"
                  for name, value in self.largest.items()]
        lines += [f"  DIFFERS: {failure}" for failure in self.failures]
        return "\n".join(lines)


def _at(record: dict, path: str):
    value = record
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(path)
        value = value[part]
    return value


def _flat(value) -> list:
    if isinstance(value, dict):
        return [x for key in sorted(value) for x in _flat(value[key])]
    if isinstance(value, list | tuple):
        return [x for item in value for x in _flat(item)]
    return [value]


def _difference(a, b) -> float:
    """|a − b| for numbers (None or NaN equal only to themselves: 0 or inf), 0 or inf for
    anything else by equality."""
    if isinstance(a, bool) or isinstance(b, bool) or not (
            isinstance(a, int | float) and isinstance(b, int | float)):
        return 0.0 if a == b else math.inf
    if math.isnan(a) or math.isnan(b):
        return 0.0 if math.isnan(a) and math.isnan(b) else math.inf
    return abs(a - b)


def _compare_field(stored: dict, fresh: dict, path: str, tolerance: float | None):
    """(largest difference, failure text or None) for one dotted field."""
    try:
        old, new = _flat(_at(stored, path)), _flat(_at(fresh, path))
    except KeyError as missing:
        return math.inf, f"{path}: absent from one side ({missing})"
    if len(old) != len(new):
        return math.inf, f"{path}: {len(old)} stored values against {len(new)} fresh"
    largest = max((_difference(a, b) for a, b in zip(old, new, strict=True)), default=0.0)
    bound = 0.0 if tolerance is None else tolerance
    if largest > bound:
        shown = "" if len(old) > 8 else f" (stored {old}, fresh {new})"
        return largest, f"{path}: {largest:.3g} > {bound:g}{shown}"
    return largest, None


def compare(stored: dict, fresh: dict, tolerances: dict[str, float]) -> Comparison:
    """Compare ``fresh`` with the ``stored`` record on the dotted fields of ``tolerances``
    (``{"metrics.balanced_acc": 0.01}``): exactly when both carry the same complete
    hardware identity, else each field within its tolerance (an absolute bound)."""
    bad = {path: t for path, t in tolerances.items()
           if isinstance(t, bool) or not isinstance(t, int | float) or not t >= 0}
    if bad or not tolerances:
        raise ConfigError(f"tolerances={tolerances!r}: give each compared field (a dotted "
                          "path such as 'metrics.acc') an absolute tolerance >= 0")
    old, new = identity(stored), identity(fresh)
    reasons = [f"the {side} identity lacks {', '.join(lacking)}"
               for side, lacking in (("stored", missing_parts(old)), ("fresh", missing_parts(new)))
               if lacking]
    if differing := differing_parts(old, new):
        reasons.append(f"the identities differ in {', '.join(differing)}")
    if not reasons:
        mode, why = EXACT, f"the same hardware identity ({describe(new)})"
    else:
        mode = TOLERANCE
        why = f"{'; '.join(reasons)}; stored: {describe(old)}; fresh: {describe(new)}"
    largest, failures = {}, []
    for path, tolerance in tolerances.items():
        largest[path], failure = _compare_field(stored, fresh, path,
                                                None if mode == EXACT else tolerance)
        if failure:
            failures.append(failure)
    return Comparison(mode, why, largest, tuple(failures))


# The ISA tiers that decide a CPU's kernels, best first, as a listing names them.
ISA_TIERS = (("amx_bf16", "AMX"), ("avx512_bf16", "AVX-512 BF16"), ("avx512f", "AVX-512"),
             ("avx2", "AVX2"), ("sve", "SVE"), ("asimd", "NEON"))


def hardware_label(record: dict) -> str:
    """A short label of the machine that made ``record``, for listings: ``"cpu Intel(R)
    Xeon(R) Processor, AMX, 2 threads, bf16"`` or ``"cuda NVIDIA H100 80GB HBM3, bf16"``;
    ``"hardware unknown"`` for a record without it."""
    hardware = record.get("hardware")
    if not isinstance(hardware, dict):
        return "hardware unknown"
    precision = f", {record['precision']}" if record.get("precision") else ""
    if hardware.get("type") == "cuda":
        return f"cuda {hardware.get('name', '?')}{precision}"
    if hardware.get("type") != "cpu":
        return f"{hardware.get('type', 'unknown device')}{precision}"
    isa = hardware.get("isa") if isinstance(hardware.get("isa"), list) else []
    tier = next((name for flag, name in ISA_TIERS if flag in isa), "no listed ISA extensions")
    threads = hardware.get("threads", "?")
    return (f"cpu {hardware.get('model', '?')}, {tier}, {threads} "
            f"thread{'' if threads == 1 else 's'}{precision}")
