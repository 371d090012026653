# Two commands do all set-up on a fresh machine:  `make demo`  and  `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
export LITELLM_LOCAL_MODEL_COST_MAP := True

.PHONY: demo demo-core test lint redis bench clean

$(VENV)/.installed: pyproject.toml $(wildcard integrations/*/pyproject.toml)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -U pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]' $(foreach p,$(wildcard integrations/*/pyproject.toml),-e '$(dir $(p))[test]')
	touch $@

demo: $(VENV)/.installed
	$(PY) examples/litellm_agent.py

demo-core: $(VENV)/.installed
	$(VENV)/bin/headroom-middleware demo

lint: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check headroom_middleware integrations examples benchmarks tests fixtures
	$(PY) -m mypy

# The Redis store's tests start a real redis-server (tests/redis_server.py): installed here when
# running as root without one; otherwise those tests skip locally and fail in CI (CI set).
redis:
	@command -v redis-server >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update && apt-get install -y redis-server; \
	  else \
	    echo "make test: redis-server is not on PATH, so the Redis store tests will be skipped" \
	      "(and fail in CI). Install it: sudo apt-get install redis-server"; \
	  fi; }

test: lint redis
	$(PY) -m pytest -q -p no:cacheprovider

bench: $(VENV)/.installed
	$(PY) -m pip install -q --disable-pip-version-check -e '.[bench]'
	$(PY) benchmarks/corpus.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
