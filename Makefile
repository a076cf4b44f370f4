# Every target builds what it needs: a fresh clone runs `make test` or `make demo` directly.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Installs compile bytecode, as pip does by default and Airflow's images do: uv does not by itself,
# and where PYTHONDONTWRITEBYTECODE is set (this machine) nothing writes it at import, so each
# process compiled Airflow from source again (2.2 s of `import airflow` here) and a cold start's
# figures measured compilation a user's triggerer never does. (A .venv made before: `make clean`.)
export UV_COMPILE_BYTECODE := 1

.PHONY: venv test test-matrix lint typecheck unit quick demo e2e e2e-distributed bench docs dist clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check 'uv>=0.8'
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e . --group test --group lint --group docs
	touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# Two workers (pytest-xdist) on CI's two cores; worksteal evens out the few long tests.
unit: $(STAMP)
	$(BIN)/pytest -n 2 --dist worksteal

# The quick loop while iterating: everything but DAG runs, CLI and benchmark smoke runs.
quick: $(STAMP)
	$(BIN)/pytest -m "not slow and not e2e"

test: lint typecheck unit

# The version matrix (noxfile.py): the suite (without e2e) and the demo in seven cells, each in its
# own virtualenv under .nox/ with constraints/airflow-<line>.txt: Airflow 2.11, 3.0, 3.1, 3.2 and 3.3
# on Python 3.11, 2.11 on Python 3.12 and 3.3 on Python 3.13 (pyenv's, where installed). Writes
# build/matrix.md (per cell: passed, skipped with reasons, failed, demo). MATRIX_JOBS cells run at
# once (make -j; -O keeps each cell's output together): one cell keeps ~1.4 of 2 cores busy (its
# install, its longest tests and its demo leave the rest idle). One cell: make test-matrix LINE=3.1
# (PY=3.11 by default). -r reuses a cell's virtualenv and still reinstalls into it (uv: seconds).
LINE ?=
PY ?= 3.11
MATRIX_JOBS ?= 2
test-matrix: $(STAMP)
	set -e; \
	cells="$(if $(LINE),matrix-cell-$(PY)_$(LINE),$$($(BIN)/python -c 'import noxfile; print(*(f"matrix-cell-{p}_{a}" for p, a in noxfile.CELLS))'))"; \
	test -n "$$cells"; \
	status=0; $(MAKE) --no-print-directory -k -O -j$(if $(LINE),1,$(MATRIX_JOBS)) $$cells || status=$$?; \
	$(BIN)/nox -s report; exit $$status

matrix-cell-%: $(STAMP)
	PYTEST_XDIST_AUTO_NUM_WORKERS=$(if $(LINE),3,2) $(BIN)/nox -r -s "tests(python='$(word 1,$(subst _, ,$*))', airflow='$(word 2,$(subst _, ,$*))')"

# Both example DAGs on real Airflow services (scheduler, dag-processor, triggerer, api-server,
# LocalExecutor, PostgreSQL) against the emulator; ICE waits on trigger queues (three triggerers, one
# serving "ice"); the connection form in Chromium.
e2e: $(STAMP)
	$(BIN)/pytest -m "e2e and not distributed" tests/e2e -s

# A distributed Airflow (CeleryExecutor + Redis, two workers, two triggerers, PostgreSQL): a
# triggerer and a worker are killed mid-wait. Writes build/e2e-distributed.md. A stuck run is
# interrupted after 25 minutes (SIGINT: pytest still stops every process it started).
e2e-distributed: $(STAMP)
	timeout --signal=INT 1500 $(BIN)/pytest -m distributed tests/e2e -s

# The performance benchmarks, written to build/bench.md with the date, machine and command (about an
# hour: three runs of each row, the 10,000-wait rows once; `make test` runs a smoke pass of each).
bench: $(STAMP)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e . --group test --group lint --group docs --group bench
	$(BIN)/python benchmarks/bench.py

# The docs (Sphinx, docs/) as HTML in build/docs, every warning an error (-W, nitpicky -n). They show
# the reports under build/ that make bench, test-matrix and e2e-distributed wrote, else the
# reference copies in docs/reports.
docs: $(STAMP)
	$(BIN)/sphinx-build -q -W -n --keep-going -b html -d build/docs/.doctrees docs build/docs
	$(BIN)/sphinx-build -q -W -n --keep-going -b doctest -d build/docs/.doctrees docs build/docs-doctest

# example_ice_workflow end to end against the bundled emulator (no cloud account, no network).
demo: $(STAMP)
	$(BIN)/python scripts/demo.py

# The sdist and wheel in dist/, checked by twine (the wheel's install is tested in tests/test_dist.py).
# A small venv of its own (uv and twine, seconds): building needs none of the test environment.
DIST_VENV := .venv-dist
dist:
	test -x $(DIST_VENV)/bin/python || $(PYTHON) -m venv $(DIST_VENV)
	$(DIST_VENV)/bin/python -m pip install --quiet --disable-pip-version-check uv twine
	rm -rf dist
	$(DIST_VENV)/bin/uv build --quiet --out-dir dist
	$(DIST_VENV)/bin/twine check --strict dist/*

clean:
	rm -rf $(VENV) $(DIST_VENV) .nox .mypy_cache .pytest_cache .ruff_cache dist
