"""``python -m lt_lab.bench``: the benchmark without the book's dependencies."""

from lt_lab.bench.cli import main

raise SystemExit(main())
