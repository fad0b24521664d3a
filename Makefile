# ato-risk. The two commands: `make demo` and `make test`; both set everything up first.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .stamps
DELTA_JAR := $(HOME)/.m2/repository/io/delta/delta-spark_2.13/4.0.0/delta-spark_2.13-4.0.0.jar
DEMO_ACCOUNTS ?= 10000
DEMO_DAYS ?= 45
export ATO_LAKE_ROOT ?= data/lake

.PHONY: setup demo test lint unit clean bench

setup: $(STAMPS)/venv $(DELTA_JAR) $(STAMPS)/debian  ## virtualenv, pinned packages, Delta jars, Debian packages

$(STAMPS)/venv: requirements.lock pyproject.toml
	@command -v $(PY) >/dev/null || { echo "need $(PY)"; exit 1; }
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	$(BIN)/pip check
	@mkdir -p $(STAMPS) && touch $@

$(DELTA_JAR):
	@command -v mvn >/dev/null || { echo "need Maven (mvn) to fetch the Delta jars"; exit 1; }
	mvn -q dependency:get -Dartifact=io.delta:delta-spark_2.13:4.0.0

$(STAMPS)/debian:
	@command -v redis-server >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq redis-server; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq redis-server; fi; }
	@mkdir -p $(STAMPS) && touch $@

lint: setup  ## ruff + mypy
	$(BIN)/ruff check ato spark_jobs tests benchmarks
	$(BIN)/mypy

test: setup lint  ## the whole suite: unit, spark, data
	$(BIN)/pytest -q

unit: setup
	$(BIN)/pytest -q -m unit

demo: setup  ## simulate a world and ingest it end to end (about ten minutes at the default size)
	$(BIN)/ato simulate --accounts $(DEMO_ACCOUNTS) --days $(DEMO_DAYS) --out data/spool --world data/world
	$(BIN)/ato ingest data/spool
	$(BIN)/ato sql "SELECT table, reason, count(*) AS n FROM bronze_quarantine GROUP BY ALL ORDER BY n DESC"

bench: setup
	$(BIN)/python benchmarks/ingest.py

clean:
	rm -rf data $(STAMPS) .pytest_cache .mypy_cache .ruff_cache
