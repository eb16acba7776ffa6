"""lt_lab: the small package under every chapter of lt-book.

The engine (config, data, models, losses, train, results, grid) sits at the bottom; each
method family is a package named after its chapter and plugs into the engine by
registering losses, analyses and run kinds on import, which happens here.
"""

__version__ = "0.1.0"

# The method families register their losses, analyses and run kinds on import; the SLURM
# launcher (lt_lab.launch) and the packed trainer (lt_lab.pack) register themselves with
# lt_lab.grid (submitit is loaded only to submit).
from lt_lab import (  # noqa: E402, F401
    collapse,
    decoupling,
    launch,
    margins,
    pack,
    regression,
    reweighting,
    train,
)
