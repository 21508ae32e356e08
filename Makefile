# Public interface of emorec. `make install` once, then any target.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA ?= data

.PHONY: install test lint calibrate bench-perf clean

install: $(BIN)/emorec

$(BIN)/emorec: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check emorec tests benchmarks

# Stand-in calibration: label statistics and reference regressors on full sewa-synth.
calibrate: install
	$(BIN)/python benchmarks/calibrate_standin.py --kind sewa --seed 0

# View-building speed and memory against the per-window pandas loop (full sewa-synth).
bench-perf: install
	$(BIN)/python benchmarks/perf/views_vs_loop.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
