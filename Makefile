# Two commands on a fresh machine (Python 3.11 + pip):
#   make report   build .venv from the lock file, make the demo data, run the demo report
#   make test     build the same .venv and run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LOCK   := requirements/dev.lock
UV     := uv==0.13.9
DEMO   := data/demo

.PHONY: env report test lab demo bench lint browser clean lock

env: $(STAMP)

$(STAMP): $(LOCK) pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check $(UV)
	$(BIN)/uv pip sync --quiet --python $(BIN)/python $(LOCK)
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

$(DEMO)/.complete: | $(STAMP)
	$(BIN)/python -m causal_kit.simulate --out $(DEMO)
	touch $@

demo: $(DEMO)/.complete

# the demo's launches, one per decision and per launch shape: a staggered regional rollout, a
# clear win, a harmful launch, one with no effect (the 90-day rule), the rollout whose cascade
# breaks, a launch gated on a user score, a randomized holdout (20% of users kept on v1) and a
# launch to every app user on one date (web untouched) (README: "The demo launches")
report: $(STAMP) $(DEMO)/.complete
	$(BIN)/causal-kit report --config data/demo_launches.json

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

lab: $(STAMP) $(DEMO)/.complete
	$(BIN)/jupyter lab notebooks/

lint: $(STAMP)
	$(BIN)/ruff check causal_kit tests benchmarks
	$(BIN)/mypy

browser:
	@if command -v chromium >/dev/null 2>&1; then echo "chromium present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "chromium could not be installed: the browser check will be skipped"; \
	else echo "no root/apt-get: install chromium yourself, or the browser check will be skipped"; fi

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_build_panel.py

lock:
	$(BIN)/uv pip compile --python-version 3.11 requirements/dev.in -o $(LOCK)

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache
