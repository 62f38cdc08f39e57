# crossgraph: every command the README names. Needs python3 (3.11+), java 17+ and mvn.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CG := $(BIN)/crossgraph
DEMO_DIR ?= data/demo
DEMO_ACCOUNTS ?= 500
STAMP := $(VENV)/.installed
SPARK_STAMP := $(VENV)/.installed-spark

.PHONY: help install install-spark neo4j-install neo4j-start neo4j-stop demo demo-data serve lint typecheck unit test check bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(SPARK_STAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	touch $(SPARK_STAMP)

install: $(STAMP) ## create .venv and install crossgraph with its dev tools
install-spark: $(SPARK_STAMP) ## add the Spark engine's extra (pyspark, ~320 MB; `make test` needs it)

neo4j-install: install ## fetch Neo4j Community 5.26 from Maven Central (once) and build the launcher
	$(CG) neo4j install

neo4j-start: neo4j-install ## start the local Neo4j (127.0.0.1:7687, password in data/neo4j/password)
	$(CG) neo4j start

neo4j-stop: install ## stop the local Neo4j
	$(CG) neo4j stop

demo-data: install ## write the synthetic demo CSV files to $(DEMO_DIR)
	$(CG) demo-data $(DEMO_DIR) --accounts $(DEMO_ACCOUNTS) --seed 7

demo: neo4j-start demo-data ## the demo: Neo4j, demo data, train, then the API on 127.0.0.1 (Ctrl-C stops it)
	$(CG) graph init
	$(CG) load $(DEMO_DIR)
	$(CG) graph stats
	$(CG) train
	$(CG) models list
	$(CG) worklist refresh
	@key=$$($(CG) api-key create demo --scope admin --replace --quiet) && \
	password=$$($(CG) user create demo --role admin --generate --replace --quiet) && \
	account=$$($(CG) demo-example) && \
	base=http://127.0.0.1:$${CROSSGRAPH_API_PORT:-8000} && \
	embed=$$($(CG) embed-url "$$account" --ttl 8h --user demo.rep --base-url "$$base") && \
	printf '\nWorkspace (open in a browser): %s/ui/\n  user: demo   password: %s   (role admin; more users: crossgraph user create NAME --role rep)\n\n' "$$base" "$$password" && \
	printf 'CRM sidebar widget for account %s (a signed link, valid 8 hours; docs/embedding.md):\n  %s\n\n' "$$account" "$$embed" && \
	printf 'Demo API key (admin scope, stored as sha256 in data/api-keys.json):\n  %s\n\n' "$$key" && \
	printf 'Try in another terminal (API docs: %s/docs):\n' "$$base" && \
	printf '  curl -s -H "X-API-Key: %s" "%s/v1/accounts/%s/recommendations?limit=5"\n' "$$key" "$$base" "$$account" && \
	printf '  curl -s -H "X-API-Key: %s" "%s/v1/accounts/%s/recommendations?opportunity=cross_sell,upsell,renewal&limit=8"\n' "$$key" "$$base" "$$account" && \
	printf '  curl -s -H "X-API-Key: %s" "%s/v1/accounts/%s/plan?format=markdown"\n' "$$key" "$$base" "$$account" && \
	printf '  curl -s -H "X-API-Key: %s" "%s/v1/whitespace?top=10&by=category"\n' "$$key" "$$base" && \
	printf '  curl -s -H "X-API-Key: %s" "%s/v1/kpis"\n\n' "$$key" "$$base"
	$(CG) serve

serve: install ## run the API on the promoted model (127.0.0.1:8000)
	$(CG) serve

lint: install ## ruff (lint + format check)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install ## mypy --strict
	$(BIN)/mypy

unit: install ## unit tests only (no Neo4j)
	$(BIN)/pytest tests/unit -q

test: lint typecheck neo4j-install install-spark ## everything CI runs: lint, types, unit and integration tests (starts its own Neo4j)
	$(BIN)/pytest -q

bench: install ## benchmarks (see benchmarks/README.md)
	$(BIN)/python benchmarks/ingest.py

clean: ## remove build and cache files (keeps data/ and models/)
	rm -rf build dist .mypy_cache .ruff_cache .pytest_cache src/*.egg-info
