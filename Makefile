# Public interface of emorec. Every target sets up .venv first if needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

STORAGE ?= optuna.journal
# Where bench targets keep results and render leaderboards: the committed files by default;
# RESULTS=runs/mine trains every cell afresh into that folder and renders there.
RESULTS ?= leaderboard/results
BOARD ?= $(if $(filter leaderboard/results,$(RESULTS)),leaderboard,$(RESULTS))

# The suites: benchmarks/<suite>.toml, run by make bench-<suite> (underscores as dashes:
# make bench-sewa-lag runs sewa_lag) and checked by make verify; REFIT_SUITES also refit one
# cell per model family there.
SUITES := quick sewa sewa_lag afew_va seq_recipe
REFIT_SUITES := quick
BENCH_TARGETS := $(addprefix bench-,$(subst _,-,$(SUITES)))

# pyproject's extras that make install and make lock install (space-separated): dev (pytest,
# ruff), scale (psycopg, for PostgreSQL stores), dashboard (optuna-dashboard), extract (PyAV,
# OpenCV, transformers, scikit-image: emorec extract and data synth-media). Not egemaps
# (openSMILE, for emorec extract --audio-features egemaps): openSMILE is free for research and
# non-commercial use only, so a plain make install does not bring it; ask for it on a new .venv
# with make install EXTRAS="dev scale dashboard extract egemaps" (CI does), or add it to an
# existing one with .venv/bin/pip install -c constraints.txt -e '.[egemaps]'. make lock pins
# it with the others.
EXTRAS := dev scale dashboard extract
LOCK_EXTRAS := $(sort $(EXTRAS) egemaps)
comma := ,
empty :=
space := $(empty) $(empty)
package = .[$(subst $(space),$(comma),$(strip $(1)))]
PACKAGE := $(call package,$(EXTRAS))

# PyTorch's CPU build, asked for explicitly: pip also reads this index, where torch==2.13.0
# (constraints.txt) matches 2.13.0+cpu, whose local label ranks above PyPI's 2.13.0 (a CUDA
# build on Linux that pulls the NVIDIA libraries). On a GPU machine, deliberately:
#   make install TORCH_INDEX=https://download.pytorch.org/whl/cu126
# The index is used only if it answers within a few seconds (scripts/pip_index.py): where it
# cannot be reached pip would retry it for every package, so torch then comes from pip's own
# configuration, which make install says.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
torch_index = $(shell $(PYTHON) scripts/pip_index.py $(TORCH_INDEX))

.PHONY: help install lock test test-slow test-all lint verify $(BENCH_TARGETS) bench-media bench-real-media golden leaderboard ui \
	dashboard servers stop-servers slurm stop-slurm calibrate bench-perf clean

# make help: every target in one line each (a test checks that none is missing).
help:
	@printf '%s\n' \
	"make install           .venv with emorec and its pinned libraries (every target does it first)" \
	"make test              the fast test tier; make test-slow the scenario tier, make test-all both" \
	"make lint              ruff on the code, tests, benchmarks and scripts" \
	"make bench-SUITE       run a suite (benchmarks/SUITE.toml: $(subst $(space),$(comma) ,$(BENCH_TARGETS))) into RESULTS, render its boards" \
	"make bench-media       recordings end to end on generated media (espeak-ng)" \
	"make bench-real-media  real media, speech embedded beside eGeMAPS (alsa-utils, egemaps extra)" \
	"make leaderboard       render the boards from RESULTS into BOARD (markdown; HTML site: BOARD/site)" \
	"make verify            committed rows against today's code (CI runs it)" \
	"make golden            re-render the frozen board of tests/golden" \
	"make ui                MLflow UI (PORT=5000, UI_STORE=sqlite:///mlflow.db)" \
	"make dashboard         optuna-dashboard on STORAGE (PORT=8080)" \
	"make servers           PostgreSQL + MLflow tracking server; make stop-servers" \
	"make slurm             a single-node Slurm to try job arrays on; make stop-slurm" \
	"make calibrate         the stand-in calibration report" \
	"make bench-perf        the speed benchmarks" \
	"make lock              re-resolve constraints.txt" \
	"make clean             remove .venv and build leftovers"

install: $(BIN)/emorec

$(BIN)/emorec: pyproject.toml constraints.txt
	@echo "make install: creating $(VENV) and installing emorec with the pinned versions of"
	@echo "constraints.txt (PyTorch CPU, scikit-learn, MLflow, Optuna, ...): 1-5 minutes"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --progress-bar on $(torch_index) -c constraints.txt -e '$(PACKAGE)'
	@$(BIN)/python -c "import torch; print('make install: torch', torch.__version__)"
	@touch $@

# Re-resolve the newest versions pyproject.toml allows into constraints.txt (then rerun the
# results: library versions change numbers in their last digits).
lock:
	rm -rf /tmp/emorec-lock && $(PYTHON) -m venv /tmp/emorec-lock
	/tmp/emorec-lock/bin/python -m pip install --quiet $(torch_index) -e '$(call package,$(LOCK_EXTRAS))'
	{ sed -n '1,3p' constraints.txt; /tmp/emorec-lock/bin/pip freeze --exclude-editable \
		| sed 's/^torch==\([0-9.]*\)+[a-z0-9]*$$/torch==\1/'; } > constraints.new
	mv constraints.new constraints.txt

# The fast tier (minutes); the slow scenario tier (servers, Slurm, kill-and-rerun, several
# workers) runs in CI after it: make test-slow (needs make servers and make slurm), or make
# test-all for both. The fast
# tier runs on every core (pytest-xdist, TEST_WORKERS=auto), whole test modules to one worker
# so that a module's shared fixtures are made once; the slow tier runs one test at a time, as
# its scenarios share the servers and start workers of their own.
TEST_WORKERS ?= auto
test: install
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not slow"

test-slow: install
	$(BIN)/python -m pytest -q -m slow

test-all: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check emorec tests benchmarks scripts

# Suites: real features from data/<dataset> when imported, else the generated stand-in.
# bench-sewa-lag is the rating-lag study on the SEWA stand-in: the same cells at lags 0-3 s
# (leaderboard/sewa-synth-lag.md).
$(BENCH_TARGETS): bench-%: install
	$(BIN)/emorec bench benchmarks/$(subst -,_,$*).toml --results-dir $(RESULTS)
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

# Recordings end to end on real media (a real talking face and real recorded voices with planted
# ratings; needs Debian's alsa-utils and the egemaps extra): real-media -> tiny random-weight
# models -> two extractions of the same recordings (speech embedded by the tiny wav2vec2, and
# openSMILE's eGeMAPS) -> bench benchmarks/real_media.toml on both -> leaderboard with the
# feature-set page, all under $(REAL_MEDIA) (not committed, as for bench-media).
REAL_MEDIA ?= runs/real-media
bench-real-media: install
	$(BIN)/python -c "import opensmile" 2>/dev/null || { echo "bench-real-media needs the egemaps \
	extra (openSMILE, free for research and non-commercial use only): \
	.venv/bin/pip install -c constraints.txt -e '.[egemaps]'" >&2; exit 2; }
	$(BIN)/emorec data real-media --out $(REAL_MEDIA)/recordings --sessions 12 --duration 40 --seed 0
	$(BIN)/emorec data tiny-models $(REAL_MEDIA)/models --seed 0
	HF_HUB_OFFLINE=1 $(BIN)/emorec extract $(REAL_MEDIA)/recordings --layout sewa \
		--out $(REAL_MEDIA)/embedding --name media-real --face-model $(REAL_MEDIA)/models/face \
		--audio-model $(REAL_MEDIA)/models/voice --windows 1,2
	HF_HUB_OFFLINE=1 $(BIN)/emorec extract $(REAL_MEDIA)/recordings --layout sewa \
		--out $(REAL_MEDIA)/egemaps --name media-real-egemaps \
		--face-model $(REAL_MEDIA)/models/face --audio-features egemaps --windows 1,2
	$(BIN)/emorec bench benchmarks/real_media.toml --results-dir $(REAL_MEDIA)/results \
		--tracking-uri sqlite:///$(REAL_MEDIA)/mlflow.db
	$(BIN)/emorec leaderboard --results-dir $(REAL_MEDIA)/results --out $(REAL_MEDIA)/board

# Committed results against today's code (CI runs it): keys and completeness of every suite, and
# one cell per model family of REFIT_SUITES fitted again, metric by metric. The nets train in
# float32, and PyTorch's CPU kernels differ in the last bits between instruction sets (AVX2,
# AVX-512), so a refit on another processor than the one that made the rows differs by up to
# about 1e-6 in a metric; a code change moves metrics by orders of magnitude more. On the
# machine that made the rows, VERIFY_TOLERANCE=0 checks them bit for bit.
VERIFY_TOLERANCE ?= 1e-5
verify: install
	@set -e; for suite in $(SUITES); do \
		case " $(REFIT_SUITES) " in *" $$suite "*) refit=1 ;; *) refit=0 ;; esac; \
		echo "$(BIN)/emorec verify benchmarks/$$suite.toml --per-family $$refit --tolerance $(VERIFY_TOLERANCE)"; \
		$(BIN)/emorec verify benchmarks/$$suite.toml --per-family $$refit \
			--tolerance $(VERIFY_TOLERANCE); \
	done

# The golden leaderboard tests/golden/sewa-synth-tiny.md, rendered again from the golden results
# file beside it (a frozen run, upgraded to the current schema, and its models.json): after a deliberate change to the
# leaderboard's layout, then review the diff. Its figures are not kept.
golden: install
	@out=$$(mktemp -d) && $(BIN)/emorec leaderboard --results-dir tests/golden --out $$out \
		&& cp $$out/*.md tests/golden/ && rm -rf $$out && git status --short tests/golden

leaderboard: install
	$(BIN)/emorec leaderboard --results-dir $(RESULTS) --out $(BOARD)

# make ui and make dashboard listen on 127.0.0.1, at PORT when given (make ui PORT=5001); a port
# that is taken stops them in one line before any server starts (scripts/port_free.py). make ui
# serves UI_STORE, the store emorec bench writes by default.
UI_STORE ?= sqlite:///mlflow.db
UI_PORT := $(or $(PORT),5000)
DASHBOARD_PORT := $(or $(PORT),8080)
$(foreach goal,ui dashboard,$(if $(filter $(goal),$(MAKECMDGOALS)),$(eval \
	port_problem := $(shell $(PYTHON) scripts/port_free.py "make $(goal)" \
		$(if $(filter ui,$(goal)),$(UI_PORT),$(DASHBOARD_PORT))))))
ifneq ($(port_problem),)
$(error $(port_problem))
endif
# A journal file that does not exist yet holds no study: say so instead of the dashboard's
# traceback (a database URL, STORAGE=postgresql+psycopg://..., is the dashboard's to check).
ifneq ($(filter dashboard,$(MAKECMDGOALS)),)
ifeq ($(findstring ://,$(STORAGE))$(wildcard $(STORAGE)),)
$(error make dashboard: no Optuna journal at $(STORAGE) yet (emorec tune writes it with its first \
	study); run emorec tune first, or give STORAGE=FILE or a database URL)
endif
endif

ui: install
	@echo "make ui: the MLflow UI of $(UI_STORE) at http://127.0.0.1:$(UI_PORT)"
	$(BIN)/mlflow ui --backend-store-uri $(UI_STORE) --workers 1 --host 127.0.0.1 \
		--port $(UI_PORT)

# optuna-dashboard on the Optuna storage: the journal file, or STORAGE=postgresql+psycopg://...
dashboard: install
	@test -x $(BIN)/optuna-dashboard || { echo "make dashboard: optuna-dashboard is missing; \
		install emorec's dashboard extra (make install does)" >&2; exit 1; }
	@echo "make dashboard: optuna-dashboard of $(STORAGE) at http://127.0.0.1:$(DASHBOARD_PORT)"
	$(BIN)/optuna-dashboard $(STORAGE) --host 127.0.0.1 --port $(DASHBOARD_PORT)

# Several machines: PostgreSQL (Debian package) + an MLflow tracking server on it, on this
# machine (EMOREC_LISTEN=0.0.0.0 to take workers from others); URLs go to .servers.env.
servers: install
	bash scripts/start_servers.sh

stop-servers:
	bash scripts/stop_servers.sh

# A single-node Slurm on this machine (munged, slurmctld, slurmd; Debian's slurm-wlm and munge,
# installed if missing), for trying emorec slurm and for its tests, apart from any Slurm or munge
# the machine runs: its own munge socket, ports 16817-16818 (EMOREC_SLURM_PORT=P: P and P+1);
# taken ports stop it in one line. SLURM_CONF goes to .slurm.env, which the shell that runs
# sbatch, squeue or emorec slurm must source. Stopped by pid with make stop-slurm.
slurm:
	bash scripts/start_slurm.sh

stop-slurm:
	bash scripts/stop_slurm.sh

# Stand-in calibration: label statistics and reference regressors on full sewa-synth.
calibrate: install
	$(BIN)/python benchmarks/calibrate_standin.py --kind sewa --seed 0

# Performance benchmarks (full sewa-synth): views vs the pandas loop; exact vs Nystroem SVR;
# the shared training loop vs a bare PyTorch loop.
bench-perf: install
	$(BIN)/python benchmarks/perf/views_vs_loop.py
	$(BIN)/python benchmarks/perf/svr_vs_nystroem.py
	$(BIN)/python benchmarks/perf/training_profile.py --out benchmarks/perf/results/training-profile-cpu.md

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
