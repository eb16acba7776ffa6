"""``python -m lt_lab.book.confirmatory``: the declaration's plan, lock, grid file and status.

    plan [NAME]            the counted claims, their regimes, n and runs
    lock NAME              write the lock of declaration NAME (before its declaration commit)
    grid NAME FILE [CH]    the declared configs (of chapter CH, e.g. 05_imbalanced_regression,
                           if given) as a JSON list, for `lt-lab grid FILE --jobs N`
    status NAME [CH]       "confirmatory runs: k of n stored" — and nothing else
"""

from __future__ import annotations

import json
import sys

from lt_lab.book.confirmatory import declared, lock, status
from lt_lab.book.confirmatory.verdicts import declared_runs


def main(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in ("plan", "lock", "grid", "status"):
        print(__doc__, file=sys.stderr)
        return 2
    action, name = args[0], args[1] if len(args) > 1 else "edition-1"
    claims = declared(name)
    if action == "plan":
        for c in claims:
            print(f"{c.id:34s} {c.chapter:14s} {c.regime:5s} n={c.n:<2d} {c.design:15s} "
                  f"{c.role:12s} {c.group or ''}")
        print(f"{len(declared_runs(claims))} runs")
    elif action == "lock":
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
    else:
        from lt_lab.results import ResultsStore

        if len(args) > 2:
            claims = [c for c in claims if c.chapter == args[2]]
        print(status(claims, ResultsStore()).text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
