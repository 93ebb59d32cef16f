# Two commands on a fresh machine (Python 3.11 + pip):
#   make report   build .venv from the lock file, make the demo data, run the demo report
#   make test     build the same .venv and run the whole test suite
# Every path is taken from this file's folder, so `make -C <repo> ...` works from anywhere.
ROOT   := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
PYTHON ?= python3
VENV   := $(ROOT)/.venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LOCK   := $(ROOT)/requirements/dev.lock
UV     := uv==0.13.9
DEMO   := $(ROOT)/data/demo
# JupyterLab refuses to start as root unless told
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: env bytecode report test lab demo bench lint browser clean lock

env: $(STAMP)

# Bytecode is compiled at install time: where PYTHONDONTWRITEBYTECODE is set (as in many
# containers) every process would otherwise recompile the ~1,700 modules it imports.
$(STAMP): $(LOCK) $(ROOT)/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check $(UV)
	$(BIN)/uv pip sync --quiet --compile-bytecode --python $(BIN)/python $(LOCK)
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python --no-deps -e $(ROOT)
	touch $(STAMP)

# The editable install leaves the kit's own modules uncompiled; compile them (only those that
# changed) before the targets that start many processes.
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q $(ROOT)/causal_kit

$(DEMO)/.complete: | $(STAMP)
	$(BIN)/python -m causal_kit.simulate --out $(DEMO)
	touch $@

demo: $(DEMO)/.complete

# the demo's launches, one per decision and per launch shape: a staggered regional rollout, a
# clear win, a harmful launch, one with no effect (the 90-day rule), the rollout whose cascade
# breaks, a launch gated on a user score, a randomized holdout (20% of users kept on v1) and a
# launch to every app user on one date (web untouched), and a holdout read 21 days after
# launch (an early read of its 90-day effect) (README: "The demo launches")
report: $(STAMP) bytecode $(DEMO)/.complete
	cd $(ROOT) && $(BIN)/causal-kit report --config data/demo_launches.json

test: $(STAMP) bytecode
	cd $(ROOT) && $(BIN)/python -m pytest -n 2 --dist loadfile -q

# notebooks find the demo data through ck.demo_path(), whatever folder their kernel starts in
lab: $(STAMP) bytecode $(DEMO)/.complete
	$(BIN)/jupyter lab $(ALLOW_ROOT) --notebook-dir=$(ROOT)/notebooks

lint: $(STAMP)
	cd $(ROOT) && $(BIN)/ruff check causal_kit tests benchmarks
	cd $(ROOT) && $(BIN)/mypy

browser:
	@if command -v chromium >/dev/null 2>&1; then echo "chromium present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "chromium could not be installed: the browser check will be skipped"; \
	else echo "no root/apt-get: install chromium yourself, or the browser check will be skipped"; fi

bench: $(STAMP)
	cd $(ROOT) && $(BIN)/python benchmarks/bench_build_panel.py

# re-resolve, keeping every pin the lock already has unless an input asks otherwise
lock:
	cd $(ROOT)/requirements && $(BIN)/uv pip compile --python-version 3.11 dev.in -o dev.lock

clean:
	cd $(ROOT) && rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache
