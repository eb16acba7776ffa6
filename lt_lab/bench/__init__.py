"""Throughput benchmarks: lt_lab's trainer against a DataLoader pipeline and the
no-pipeline ceiling, on this machine's CPU or GPU."""

from lt_lab.bench.harness import *  # noqa: F401,F403
from lt_lab.bench.harness import _build, _summary, _sync  # noqa: F401
