"""What the confirmatory grid cost (issue 29): machine time, speed and hardware, per regime.

Read from the stored confirmatory records only (no metric: their wall times, thread counts,
data sizes and machines), so it may be shown while a chapter's set is partial. A run's
*core-hours* are ``wall_time_s × threads / 3600``; its speed is training images a second,
``train_size × epochs / wall_time_s`` (the simulator's runs have no images: "—").
"""

from __future__ import annotations

import statistics
from collections import defaultdict

HEADS = ["chapter", "profile", "kind", "runs stored", "core-hours", "median s a run",
         "images/s (median)", "machines (precision)"]


def _machine(record: dict) -> str:
    hardware = record.get("hardware") or {}
    if hardware.get("type") == "cpu":
        isa = "+".join(hardware.get("isa") or []) or "no ISA flags recorded"
        name = f"{hardware.get('model', '?')} ({hardware.get('cpu', '?')}; {isa})"
    else:
        name = record.get("device", "?")
    precision = record.get("precision")
    return f"{name}, {precision}" if precision else name


def _speed(record: dict) -> float | None:
    size = (record.get("data") or {}).get("train_size")
    epochs = record["config"].get("epochs")
    wall = record.get("wall_time_s")
    return size * epochs / wall if size and epochs and wall else None


def cost_rows(store=None, name: str = "edition-1") -> list[dict]:
    """One row a (chapter, profile, kind) of the declaration: its declared and stored runs,
    their core-hours, median wall time, median images a second and machines (its live claims':
    a part a later declaration superseded had no runs)."""
    from lt_lab.book.confirmatory import live
    from lt_lab.book.confirmatory.plan import _arms
    from lt_lab.results import ResultsStore

    store = store or ResultsStore()
    groups: dict[tuple, dict] = defaultdict(dict)
    for claim in live(name):
        for arm in _arms(claim.arms):
            for seed in claim.seeds:
                config = arm.config(seed)
                groups[(claim.chapter, arm.profile, arm.kind)][config.key()] = config
    rows = []
    for (chapter, profile, kind), configs in groups.items():
        records = [r for r in map(store.load, configs.values()) if r is not None]
        walls = [r["wall_time_s"] for r in records if r.get("wall_time_s") is not None]
        speeds = [s for s in map(_speed, records) if s is not None]
        rows.append({
            "chapter": chapter, "profile": profile,
            "kind": "simulator" if kind == "ufm" else kind,
            "declared": len(configs), "stored": len(records), "keys": set(configs),
            "hours_by_key": {r["key"]: r["wall_time_s"] * _threads(r) / 3600
                             for r in records if r.get("wall_time_s") is not None},
            "core_hours": sum(r["wall_time_s"] * _threads(r) for r in records
                              if r.get("wall_time_s") is not None) / 3600,
            "median_s": statistics.median(walls) if walls else None,
            "images_per_s": statistics.median(speeds) if speeds else None,
            "machines": sorted({_machine(r) for r in records})})
    return rows


def _threads(record: dict) -> int:
    return int(record["config"].get("threads") or (record.get("hardware") or {}).get("threads")
               or 1)


def cost_markdown(store=None, name: str = "edition-1") -> str:
    """The cost table (markdown), then the totals."""
    from lt_lab.book.times import markdown_table

    rows = cost_rows(store, name)

    def number(value, digits):
        return "—" if value is None else f"{value:,.{digits}f}"

    table = [[r["chapter"], r["profile"], r["kind"], f"{r['stored']} of {r['declared']}",
              number(r["core_hours"], 2), number(r["median_s"], 1),
              number(r["images_per_s"], 0), "; ".join(r["machines"]) or "—"] for r in rows]
    hours_by_key = {k: h for r in rows for k, h in r["hours_by_key"].items()}
    stored, hours = len(hours_by_key), sum(hours_by_key.values())
    total = len(set().union(*(r["keys"] for r in rows)))
    return (markdown_table(HEADS, table) + f"\n\nStored: {stored} of {total} declared runs "
            f"(a run two chapters read is in both rows, once here), {hours:.2f} core-hours "
            "(Σ wall time × threads).")
