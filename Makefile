# lt-book: `make test` and `make book` from a fresh clone.
# The venv is created on first use; torch is pinned here (not in pyproject) so that these
# machines take the local CPU wheel while Colab and GPU users keep their own torch.
PYTHON ?= python3
VENV ?= .venv
TORCH_PIN ?= torch==2.13.0
BIN := $(VENV)/bin

.PHONY: install check test lint book book-time

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "$(TORCH_PIN)"
	$(BIN)/pip install --quiet -e ".[book,dev,cluster]" "$(TORCH_PIN)"
	touch $@

lint: install
	$(BIN)/ruff check .

# The fast tier (meant to stay under a minute on 2 cores): lint, then the unit tests that need
# neither Fashion-MNIST, nor training longer than a second or two, nor a fresh interpreter
# (markers `slow`, `data`, `process`), in two worker processes of one torch thread each
# (pytest-xdist): 64-69 s on a 2-core AMD EPYC Zen 3 with 2,450 tests (README, Tests and CI).
check: lint
	OMP_NUM_THREADS=1 $(BIN)/pytest -m "not slow and not data and not process" -q -n 2

# Unit tests and chapters at the smoke profile; then nbval on the claim cells (from the stored
# records); then the whole book, built with warnings as errors and checked in Chromium.
test: lint
	$(BIN)/pytest
	$(BIN)/pytest --nbval-lax --nbval-current-env -p no:cacheprovider chapters
	$(MAKE) book
	$(MAKE) slides
	$(BIN)/lt-lab book check

# Execute every chapter at its defaults (quick profile; stored records are reused) and build
# the site into _build/html.
book: install
	$(BIN)/lt-lab book execute --all
	$(BIN)/lt-lab book build

# The teaching decks (lt_lab.book.slides): reveal.js as package-lock.json pins it (`npm ci`,
# into node_modules/), then one deck per executed chapter into _build/html/slides, beside the
# site; `lt-lab book check` (or `python -m lt_lab.book.slides --check`) opens every slide in
# Chromium, screenshots it and fails on an empty or overflowing one.
.PHONY: slides
node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund
slides: install node_modules/.package-lock.json
	$(BIN)/python -m lt_lab.book.slides

# The whole-book figure from an empty results store: every quick run retrained (about an hour
# on a 2-core CPU); the record lands in data/bench/. The repository's data/results is untouched.
book-time: install
	$(BIN)/lt-lab book time --results-dir "$$(mktemp -d)"

# Mutation testing of the numerical core (losses, metrics, samplers, the verdict rule, the
# store key, LDS/FDS), each mutant run against the core's test files that call the mutated
# function ([tool.mutmut] in pyproject.toml). One worker; not run in CI. The mutants and
# their results go to mutants/ (git-ignored); `mutmut results` lists the survivors and
# `mutmut show NAME` shows one.
.PHONY: mutants
mutants: install
	OMP_NUM_THREADS=1 $(BIN)/mutmut run --max-children 1
	$(BIN)/mutmut results
