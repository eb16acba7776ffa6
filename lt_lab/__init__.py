"""lt_lab: the small package under every chapter of lt-book."""

__version__ = "0.1.0"
