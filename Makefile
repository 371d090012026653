# Two commands do all set-up on a fresh machine:  `make demo`  and  `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
export LITELLM_LOCAL_MODEL_COST_MAP := True

.PHONY: demo demo-core test lint bench clean

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

test: lint
	$(PY) -m pytest -q -p no:cacheprovider

bench: $(VENV)/.installed
	$(PY) -m pip install -q --disable-pip-version-check -e '.[bench]'
	$(PY) benchmarks/corpus.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
