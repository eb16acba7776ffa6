"""lt_lab: the small package under every chapter of lt-book.

The engine (config, data, models, losses, train, results, grid) sits at the bottom; each
method family is a package named after its chapter and plugs into the engine by
registering its losses, analyses and run kinds. Importing the package imports nothing
else: a registry imports the modules that fill it when a name is first looked up in it
(:mod:`lt_lab.plugins`), so ``import lt_lab.config`` loads neither a family, SLURM nor
packing.
"""

__version__ = "0.1.0"
