"""Chapter 6's pilot (issue 31): the declared arms of edition-2 at the exploratory seeds 0-2
(subset 0, as every chapter's exploratory runs), trained after the declaration's lock.

    OMP_NUM_THREADS=1 python scripts/ch6_pilot.py [--jobs 2]
"""

import sys

from lt_lab.book.confirmatory.edition2 import NEW_ARMS
from lt_lab.grid import run_grid

PILOT_SEEDS = (0, 1, 2)

if __name__ == "__main__":
    jobs = int(sys.argv[sys.argv.index("--jobs") + 1]) if "--jobs" in sys.argv else None
    configs = [arm.config(seed, exploratory=True) for seed in PILOT_SEEDS for arm in NEW_ARMS]
    run_grid(configs, jobs=jobs, progress=True)
    print(f"{len(configs)} pilot runs stored")
