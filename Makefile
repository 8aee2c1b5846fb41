# `make demo` and `make test` each set everything up on a fresh machine (Python >= 3.10 and
# make are all they need), then run the main job or the test suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch is installed first, pinned, so that pip takes the CPU build on disk instead of
# downloading a multi-gigabyte CUDA build.
TORCH ?= torch==2.13.0

.PHONY: setup demo test test-ctgan lint clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

# The main job: a tuning study on a shipped dataset in the embedded SQLite default
# (causalmix.db in the working directory), then the best configuration exported. Running it
# again resumes the study, which already has its trials, and exports again.
demo: setup
	$(BIN)/causalmix tune --data datasets/diabetes.csv --target target --study demo \
		--space fast --n-trials 10
	$(BIN)/causalmix export --study demo --out runs/best.yaml

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

# The optional `ctgan` generator pins pandas < 3, so its tests (and the augmentation engine's,
# on pandas 2) run in a second venv; CAUSALMIX_REQUIRE_CTGAN=1 turns a missing ctgan into a
# failure instead of a skip.
CTGAN_VENV ?= .venv-ctgan

$(CTGAN_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(CTGAN_VENV)
	$(CTGAN_VENV)/bin/python -m pip install -q $(TORCH)
	$(CTGAN_VENV)/bin/python -m pip install -q -e '.[ctgan]' 'pytest>=8' 'pytest-timeout>=2.2'
	touch $@

test-ctgan: $(CTGAN_VENV)/.installed
	CAUSALMIX_REQUIRE_CTGAN=1 $(CTGAN_VENV)/bin/python -m pytest -p no:cacheprovider \
		tests/causalmix tests/tuner/test_bench.py

clean:
	rm -rf $(VENV) $(CTGAN_VENV) .mypy_cache .ruff_cache .pytest_cache runs .causalmix_cache
