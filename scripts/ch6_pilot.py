"""Chapter 6's pilots (issue 31): the declared arms of a declaration (edition-2: part F1,
edition-3: part F2, edition-4: part F3) at the exploratory seeds 0-2 (subset 0, as every
chapter's exploratory runs), trained after the declaration's lock. Prints no metric.

    OMP_NUM_THREADS=1 python scripts/ch6_pilot.py [edition-2|edition-3|edition-4] [--jobs 2]
"""

import importlib
import sys

from lt_lab.book.confirmatory import DECLARATIONS
from lt_lab.grid import run_grid

PILOT_SEEDS = (0, 1, 2)

if __name__ == "__main__":
    args = sys.argv[1:]
    jobs = int(args[args.index("--jobs") + 1]) if "--jobs" in args else None
    name = next((a for a in args if a in DECLARATIONS), "edition-2")
    arms = importlib.import_module(DECLARATIONS[name]).NEW_ARMS
    configs = [arm.config(seed, exploratory=True) for seed in PILOT_SEEDS for arm in arms]
    run_grid(configs, jobs=jobs, progress=True)
    print(f"{len(configs)} pilot runs of {name} stored")
