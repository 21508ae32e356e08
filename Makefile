# Public interface of emorec. Every target sets up .venv first if needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

STORAGE ?= optuna.journal
# Where bench targets keep results and render leaderboards: the committed files by default;
# RESULTS=runs/mine trains every cell afresh into that folder and renders there.
RESULTS ?= leaderboard/results
BOARD ?= $(if $(filter leaderboard/results,$(RESULTS)),leaderboard,$(RESULTS))

.PHONY: install lock test test-slow test-all lint verify bench-quick bench-sewa bench-sewa-lag bench-afew-va leaderboard ui dashboard servers \
	stop-servers calibrate bench-perf bench-media clean

install: $(BIN)/emorec

$(BIN)/emorec: pyproject.toml constraints.txt
	@echo "make install: creating $(VENV) and installing emorec with the pinned versions of"
	@echo "constraints.txt (PyTorch CPU, scikit-learn, MLflow, Optuna, ...): 1-5 minutes"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --progress-bar on -c constraints.txt -e '.[dev,extract]'
	@touch $@

# Re-resolve the newest versions pyproject.toml allows into constraints.txt (then rerun the
# results: library versions change numbers in their last digits).
lock:
	rm -rf /tmp/emorec-lock && $(PYTHON) -m venv /tmp/emorec-lock
	/tmp/emorec-lock/bin/python -m pip install --quiet -e '.[dev,extract]'
	{ sed -n '1,3p' constraints.txt; /tmp/emorec-lock/bin/pip freeze --exclude-editable \
		| sed 's/^torch==\([0-9.]*\)+cpu$$/torch==\1/'; } > constraints.new
	mv constraints.new constraints.txt

# The fast tier (minutes); the slow scenario tier (servers, kill-and-rerun, several workers)
# runs in CI after it: make test-slow (needs make servers), or make test-all for both.
test: install
	$(BIN)/python -m pytest -q -m "not slow"

test-slow: install
	$(BIN)/python -m pytest -q -m slow

test-all: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check emorec tests benchmarks

# Suites: real features from data/<dataset> when imported, else the generated stand-in.
bench-quick: install
	$(BIN)/emorec bench benchmarks/quick.toml --results-dir $(RESULTS)
	$(BIN)/emorec leaderboard --results-dir $(RESULTS) --out $(BOARD)

bench-sewa: install
	$(BIN)/emorec bench benchmarks/sewa.toml --results-dir $(RESULTS)
	$(BIN)/emorec leaderboard --results-dir $(RESULTS) --out $(BOARD)

# The rating-lag study on the SEWA stand-in: the same cells at lags 0-3 s (leaderboard/sewa-synth-lag.md).
bench-sewa-lag: install
	$(BIN)/emorec bench benchmarks/sewa_lag.toml --results-dir $(RESULTS)
	$(BIN)/emorec leaderboard --results-dir $(RESULTS) --out $(BOARD)

bench-afew-va: install
	$(BIN)/emorec bench benchmarks/afew_va.toml --results-dir $(RESULTS)
	$(BIN)/emorec leaderboard --results-dir $(RESULTS) --out $(BOARD)

# Recordings end to end on generated stand-in media (needs espeak-ng): synth-media -> tiny
# random-weight models -> extract -> bench benchmarks/media.toml -> leaderboard, all under
# $(MEDIA) (not the committed leaderboard: the extracted features depend on the machine's
# library builds, so CI cannot re-render them byte for byte).
MEDIA ?= runs/media
bench-media: install
	$(BIN)/emorec data synth-media --out $(MEDIA)/recordings --sessions 12 --duration 40 --seed 0
	$(BIN)/emorec data tiny-models $(MEDIA)/models --seed 0
	HF_HUB_OFFLINE=1 $(BIN)/emorec extract $(MEDIA)/recordings --layout sewa --out $(MEDIA)/dataset \
		--face-model $(MEDIA)/models/face --audio-model $(MEDIA)/models/voice --windows 1,2
	$(BIN)/emorec bench benchmarks/media.toml --results-dir $(MEDIA)/results \
		--tracking-uri sqlite:///$(MEDIA)/mlflow.db
	$(BIN)/emorec leaderboard --results-dir $(MEDIA)/results --out $(MEDIA)/board

# Committed results against today's code (CI runs it): keys and completeness of every suite, and
# one cell per model family of the quick suite fitted again, metric by metric.
verify: install
	$(BIN)/emorec verify benchmarks/quick.toml --per-family 1
	$(BIN)/emorec verify benchmarks/sewa.toml --per-family 0
	$(BIN)/emorec verify benchmarks/sewa_lag.toml --per-family 0
	$(BIN)/emorec verify benchmarks/afew_va.toml --per-family 0

leaderboard: install
	$(BIN)/emorec leaderboard --results-dir $(RESULTS) --out $(BOARD)

ui: install
	$(BIN)/mlflow ui --backend-store-uri sqlite:///mlflow.db

# optuna-dashboard on the Optuna storage: the journal file, or STORAGE=postgresql+psycopg://...
dashboard: install
	$(BIN)/optuna-dashboard $(STORAGE) --host 127.0.0.1 --port 8080

# Several machines: PostgreSQL (Debian package) + an MLflow tracking server on it, on this
# machine (EMOREC_LISTEN=0.0.0.0 to take workers from others); URLs go to .servers.env.
servers: install
	bash scripts/start_servers.sh

stop-servers:
	bash scripts/stop_servers.sh

# Stand-in calibration: label statistics and reference regressors on full sewa-synth.
calibrate: install
	$(BIN)/python benchmarks/calibrate_standin.py --kind sewa --seed 0

# Performance benchmarks (full sewa-synth): views vs the pandas loop; exact vs Nystroem SVR;
# the shared training loop vs a bare PyTorch loop.
bench-perf: install
	$(BIN)/python benchmarks/perf/views_vs_loop.py
	$(BIN)/python benchmarks/perf/svr_vs_nystroem.py
	$(BIN)/python benchmarks/perf/training_loop_overhead.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
