"""``python -m lt_lab.book.confirmatory``: the declaration's plan, lock, grid file and status.

    plan [NAME]            the counted claims, their regimes, n and runs
    lock NAME              write the lock of declaration NAME (before its declaration commit)
    grid NAME FILE [CH]    the declared configs (of chapter CH, e.g. 05_imbalanced_regression,
                           if given) as a JSON list, for `lt-lab grid FILE --jobs N`
    status NAME [CH]       "confirmatory runs: k of n stored" — and nothing else
    train NAME [CH] [--jobs N]
                           train the declared runs (of chapter CH) that are not stored, from
                           a clean checkout only; prints progress and the count, never a
                           metric (one look: nobody reads a number before the set is whole)
    cost NAME              what the stored runs cost: core-hours, images/s and machines, per
                           chapter and regime (no metric)
"""

from __future__ import annotations

import json
import sys

from lt_lab.book.confirmatory import DECLARATIONS, declared, live, lock, status
from lt_lab.book.confirmatory.verdicts import declared_runs


def main(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in ("plan", "lock", "grid", "status", "train", "cost"):
        print(__doc__, file=sys.stderr)
        return 2
    action, name = args[0], args[1] if len(args) > 1 else "edition-1"
    if name not in DECLARATIONS:
        print(f"NAME={name!r} is not a declaration; declared: {', '.join(DECLARATIONS)}",
              file=sys.stderr)
        return 2
    claims = live(name)  # a part a later declaration superseded is neither planned nor trained
    if action == "plan":
        for c in claims:
            print(f"{c.id:34s} {c.chapter:14s} {c.regime:5s} n={c.n:<2d} {c.design:15s} "
                  f"{c.role:12s} {c.group or ''}")
        print(f"{len(declared_runs(claims))} runs")
    elif action == "lock":
        claims = declared(name)
        lock.write_lock(name, claims)
        print(f"locked {name}: {len(claims)} claims in {lock.LOCK_PATH}")
    elif action == "grid":
        if len(args) < 3:
            print("grid NAME FILE: where to write the configs", file=sys.stderr)
            return 2
        if len(args) > 3:
            claims = [c for c in claims if c.chapter == args[3]]
        configs = [{"kind": config.kind, **config.to_dict()}
                   for config in declared_runs(claims).values()]
        with open(args[2], "w") as out:
            json.dump(configs, out, indent=1)
        print(f"{len(configs)} configs written to {args[2]}")
    elif action == "train":
        return train(claims, args[2:])
    elif action == "cost":
        from lt_lab.book.confirmatory.cost import cost_markdown

        print(cost_markdown(name=name))
    else:
        from lt_lab.results import ResultsStore

        if len(args) > 2:
            claims = [c for c in claims if c.chapter == args[2]]
        print(status(claims, ResultsStore()).text())
    return 0


def train(claims, rest: list[str]) -> int:
    """Train the declared runs not yet stored, in worker processes, from a clean checkout."""
    from lt_lab.grid import resolve_jobs, run_grid
    from lt_lab.provenance import git_commit
    from lt_lab.results import ResultsStore

    jobs = None
    if "--jobs" in rest:
        at = rest.index("--jobs")
        jobs, rest = int(rest[at + 1]), rest[:at] + rest[at + 2:]
    if rest:
        claims = [c for c in claims if c.chapter == rest[0]]
    commit = git_commit()
    if commit.endswith("-dirty") or commit == "unknown":
        print(f"refused: confirmatory runs are trained from a clean checkout of the "
              f"declaration commit, and this one is {commit}", file=sys.stderr)
        return 2
    store = ResultsStore()
    configs = list(declared_runs(claims).values())
    print(f"training at {commit}: {status(claims, store).text()}")
    missing = [config for config in configs if store.load(config) is None]
    workers = resolve_jobs(jobs, missing) if missing else 1
    if workers > 1 and len(missing) > 1:  # workers show no run's bar, only the grid's count
        run_grid(missing, store=store, jobs=workers, progress=True)
    else:  # here, in this process, where a run's own bar would show its training loss
        from tqdm import tqdm

        for config in tqdm(missing, desc="runs"):
            run_grid([config], store=store, jobs=1, progress=False)
    print(status(claims, store).text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
