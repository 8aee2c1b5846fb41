# `make demo` and `make test` each set everything up on a fresh machine (Python >= 3.10 and
# make are all they need), then run the main job or the test suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch is installed first, pinned, so that pip takes the CPU build on disk instead of
# downloading a multi-gigabyte CUDA build.
TORCH ?= torch==2.13.0
# Every venv here installs one tested set of versions: pyproject.toml keeps compatible ranges for
# people who install the package into their own environment, and these files pin what the
# suite last passed with (written by `make lock`, see there).
CONSTRAINTS ?= constraints.txt
PANDAS2_CONSTRAINTS ?= constraints-pandas2.txt
PANDAS2_EXTRAS := .[ctgan,mitra]
PANDAS2_TOOLS := 'pytest>=8' 'pytest-timeout>=2.2'

.PHONY: setup demo test test-pandas2 lint lock clean

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -c $(CONSTRAINTS) $(TORCH)
	$(BIN)/python -m pip install -q -c $(CONSTRAINTS) -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

# The main job: a tuning study on a shipped dataset in the embedded SQLite default
# (causalmix.db in the working directory), then the best configuration exported. Running it
# again resumes the study, which already has its trials, and exports again.
demo: setup
	$(BIN)/causalmix tune --data datasets/tic-tac-toe.csv --target target --study demo \
		--space demo --n-trials 10
	$(BIN)/causalmix export --study demo --out runs/best.yaml

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest

# The optional `ctgan` generator and the optional `mitra` backend (AutoGluon) pin pandas < 3, so
# their tests (and the augmentation engine's, on pandas 2) run in a second venv;
# CAUSALMIX_REQUIRE_CTGAN=1 and CAUSALMIX_REQUIRE_MITRA=1 turn a missing
# package into a failure instead of a skip.
PANDAS2_VENV ?= .venv-pandas2

$(PANDAS2_VENV)/.installed: pyproject.toml $(PANDAS2_CONSTRAINTS)
	$(PYTHON) -m venv $(PANDAS2_VENV)
	$(PANDAS2_VENV)/bin/python -m pip install -q -c $(PANDAS2_CONSTRAINTS) $(TORCH)
	$(PANDAS2_VENV)/bin/python -m pip install -q -c $(PANDAS2_CONSTRAINTS) \
		-e '$(PANDAS2_EXTRAS)' $(PANDAS2_TOOLS)
	touch $@

test-pandas2: $(PANDAS2_VENV)/.installed
	CAUSALMIX_REQUIRE_CTGAN=1 CAUSALMIX_REQUIRE_MITRA=1 $(PANDAS2_VENV)/bin/python -m pytest \
		-p no:cacheprovider tests/causalmix tests/bench/test_bench.py \
		tests/tabfm/backends/test_mitra.py tests/tabfm/backends/test_contract.py \
		tests/tuner/test_backends_e2e.py

# Moving the pins is its own commit: `make lock` resolves pyproject.toml's ranges afresh in two
# scratch venvs (the dev set, and the pandas-2 set of `make test-pandas2`) and rewrites both
# constraint files; then `make clean test test-pandas2` must pass before they are committed.
LOCK_VENV := .venv-lock
# pip freeze of a scratch venv, less the project itself; torch's local label (+cpu) is dropped so
# that the pin also admits the CUDA build of the same release.
define freeze
	{ echo "# The tested install for $(2): written by 'make lock' with $$($(LOCK_VENV)/bin/python -V) on $$(uname -sm)."; \
	  echo "# Do not edit by hand; used with pip install -c by every venv of the Makefile and by .ci/run."; \
	  $(LOCK_VENV)/bin/python -m pip freeze --exclude-editable | sed -E 's/^(torch==[^+]*)\+.*/\1/'; \
	} > $(1)
endef

lock:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install -q $(TORCH)
	$(LOCK_VENV)/bin/python -m pip install -q -e '.[dev]'
	$(call freeze,$(CONSTRAINTS),.[dev])
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install -q $(TORCH)
	$(LOCK_VENV)/bin/python -m pip install -q -e '$(PANDAS2_EXTRAS)' $(PANDAS2_TOOLS)
	$(call freeze,$(PANDAS2_CONSTRAINTS),$(PANDAS2_EXTRAS) and the tests of make test-pandas2)
	rm -rf $(LOCK_VENV)

clean:
	rm -rf $(VENV) $(PANDAS2_VENV) $(LOCK_VENV) .mypy_cache .ruff_cache .pytest_cache runs .causalmix_cache
