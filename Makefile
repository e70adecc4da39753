# OneStop: `make demo` plays an exercise on the local broker; `make test` runs every check.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   ?= exercises/baltic_siena_drill.yaml

.PHONY: demo test lint typecheck pytest system-deps schemas bench faults clean broker-stop

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Debian packages the checks use: kcat (an independent Kafka client), Prometheus, and
# Chromium for the console's browser tests (driven by Playwright, never its own download).
system-deps:
	@missing=""; \
	command -v kcat >/dev/null || missing="$$missing kcat"; \
	command -v promtool >/dev/null || missing="$$missing prometheus"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

demo: $(STAMP)
	$(BIN)/onestop broker start
	$(BIN)/onestop exercise run $(DEMO) --report reports/demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# Two processes, each with a broker of its own, a test file to each at a time: most tests
# wait on Kafka more than they compute. PYTEST_WORKERS=0 runs them in this process.
PYTEST_WORKERS ?= 2
pytest: $(STAMP) system-deps
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

test: lint typecheck pytest

schemas: $(STAMP)
	$(BIN)/onestop schema export schemas/generated

bench: $(STAMP)
	$(BIN)/onestop bench --json reports/bench.json

# The long fault suite: every case, the two-worker case ten times in a row.
faults: $(STAMP) system-deps
	$(BIN)/onestop faults --long

broker-stop: $(STAMP)
	$(BIN)/onestop broker stop

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache reports .onestop-hub
