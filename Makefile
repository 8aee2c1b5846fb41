# `make demo` and `make test` each set everything up on a fresh machine (Python >= 3.10 and
# make are all they need), then run the main job or the test suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch is installed first, pinned, so that pip takes the CPU build on disk instead of
# downloading a multi-gigabyte CUDA build.
TORCH ?= torch==2.13.0

.PHONY: setup demo test test-pandas2 lint clean

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

# The optional `ctgan` generator and the optional `mitra` backend (AutoGluon) pin pandas < 3, so
# their tests (and the augmentation engine's, on pandas 2) run in a second venv;
# CAUSALMIX_REQUIRE_CTGAN=1 and CAUSALMIX_REQUIRE_MITRA=1 turn a missing
# package into a failure instead of a skip.
PANDAS2_VENV ?= .venv-pandas2

$(PANDAS2_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(PANDAS2_VENV)
	$(PANDAS2_VENV)/bin/python -m pip install -q $(TORCH)
	$(PANDAS2_VENV)/bin/python -m pip install -q -e '.[ctgan,mitra]' 'pytest>=8' \
		'pytest-timeout>=2.2'
	touch $@

test-pandas2: $(PANDAS2_VENV)/.installed
	CAUSALMIX_REQUIRE_CTGAN=1 CAUSALMIX_REQUIRE_MITRA=1 $(PANDAS2_VENV)/bin/python -m pytest \
		-p no:cacheprovider tests/causalmix tests/tuner/test_bench.py \
		tests/tabfm/test_backend_mitra.py tests/tuner/test_backends_e2e.py

clean:
	rm -rf $(VENV) $(PANDAS2_VENV) .mypy_cache .ruff_cache .pytest_cache runs .causalmix_cache
