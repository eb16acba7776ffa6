# lt-book: `make test` and `make book` from a fresh clone.
# The venv is created on first use; torch is pinned here (not in pyproject) so that these
# machines take the local CPU wheel while Colab and GPU users keep their own torch.
PYTHON ?= python3
VENV ?= .venv
TORCH_PIN ?= torch==2.13.0
BIN := $(VENV)/bin

.PHONY: install test lint book clean-results

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "$(TORCH_PIN)"
	$(BIN)/pip install --quiet -e ".[book,dev]" "$(TORCH_PIN)"
	touch $@

lint: install
	$(BIN)/ruff check .

test: lint
	$(BIN)/pytest

# Until the book pipeline lands: the default run, read from data/results when stored.
book: install
	$(BIN)/lt-lab run --dataset fashion_mnist --imbalance-ratio 100 --loss ce --profile quick --seed 0
