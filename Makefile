# ato-risk. The two commands: `make demo` and `make test`; both set everything up first.
SHELL := /bin/bash
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DELTA_JAR := $(HOME)/.m2/repository/io/delta/delta-spark_2.13/4.0.0/delta-spark_2.13-4.0.0.jar
DEMO_ACCOUNTS ?= 10000
DEMO_DAYS ?= 45
export ATO_LAKE_ROOT ?= data/lake
# Project-local Airflow: SQLite under .airflow/, our dags/ folder, no example DAGs.
AIRFLOW_ENV := AIRFLOW_HOME=$(CURDIR)/.airflow AIRFLOW__CORE__DAGS_FOLDER=$(CURDIR)/dags \
	AIRFLOW__CORE__LOAD_EXAMPLES=False AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=sqlite:///$(CURDIR)/.airflow/airflow.db
DATE ?= 2026-09-14

.PHONY: setup java class-archive debian demo test lint ruff-mypy unit clean bench bench-nightly bench-serving serve insights cluster-up cluster-down airflow-init airflow-test airflow-retrain airflow-up airflow-trigger

LOCALFS := $(VENV)/share/ato/ato-localfs.jar

SETUP_PARTS := $(VENV)/.installed java $(DELTA_JAR) $(LOCALFS) class-archive debian
# Set-up's parts that do not wait on each other run side by side (Maven's and apt's downloads beside
# the Python packages'; the class archive's JVM beside mypy), through a sub-make with -j: a fresh
# machine's set-up and lint went from 364 s one after another to 175 s (CHANGELOG stop 61).
PARALLEL := $(MAKE) --no-print-directory -j4 --output-sync=line

setup:  ## virtualenv, pinned packages, a Java Spark runs on, Delta jars, Debian packages, Hadoop's local file system through java.nio, Spark's class archive
	@$(PARALLEL) $(SETUP_PARTS)

# uv installs the lock's pinned packages, downloading in parallel: 62 s against pip's 151 s on a
# fresh machine. Pinned here, as it installs the packages rather than being one of them. Both the
# packages and our own modules are byte-compiled here: where PYTHONDONTWRITEBYTECODE is set (it is
# on this machine), every process would otherwise compile each module it imports, every time (the
# suite took 108 s longer with uv's default of not compiling).
UV := uv==0.13.9

# The stamp lives inside the venv: delete .venv and the next setup rebuilds it.
$(VENV)/.installed: requirements.lock pyproject.toml
	@$(PY) -c "import sys; assert sys.version_info[:2] == (3, 11), sys.version" || { echo "need Python 3.11"; exit 1; }
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q $(UV)
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	$(BIN)/python -m compileall -q -j 0 ato serving dags spark_jobs
	$(BIN)/uv pip check --python $(BIN)/python
	@touch $@

# Spark 4.0 runs on Java 17 or 21 (JAVA_HOME, else java on PATH): said here rather than in a stack trace.
java: $(VENV)/.installed
	@$(BIN)/python -m ato.spark.java

$(DELTA_JAR):
	@command -v mvn >/dev/null || { echo "need Maven (mvn) to fetch the Delta jars"; exit 1; }
	mvn -q dependency:get -Dartifact=io.delta:delta-spark_2.13:4.0.0

# Hadoop's local file system through java.nio (ato.spark.localfs): no chmod/readlink process per file.
# Only a speed-up: if it cannot be built, say so and go on (Spark then keeps Hadoop's own).
$(LOCALFS): $(VENV)/.installed $(wildcard jvm/ato/hadoop/*.java)
	$(BIN)/python -m ato.spark.localfs || echo "WARNING: no java.nio local file system for Spark; see above"

# Spark's classes archived for every JVM we launch (ato.spark.class_archive): ~5 s less per JVM start.
# Only a speed-up: if it cannot be built, say so and go on (JVMs then start without it). Built after
# the local file system's jar, which is on the archived JVMs' class path. Checked on every setup and
# rebuilt only when the JVM (JAVA_HOME or java on PATH) or a jar on its class path changed since:
# the JVM rejects, with a warning on every start, an archive of another build.
class-archive: $(VENV)/.installed $(DELTA_JAR) $(LOCALFS)
	$(BIN)/python -m ato.spark.class_archive --if-stale || echo "WARNING: no Spark class archive (JVMs start ~5 s slower); see above"

debian:  ## Debian packages the project needs (checked every time; installs only what is missing)
	@command -v redis-server >/dev/null && command -v promtool >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends redis-server prometheus; }

lint:  ## ruff + mypy (beside set-up's JVM steps once the packages are in)
	@$(PARALLEL) $(SETUP_PARTS) ruff-mypy

ruff-mypy: $(VENV)/.installed
	$(BIN)/ruff check ato serving spark_jobs dags tests benchmarks
	$(BIN)/mypy

test: lint  ## set-up, lint, then the whole suite: unit, spark, data
	$(BIN)/pytest -q

unit: setup
	$(BIN)/pytest -q -m unit

demo: setup  ## simulate a world, ingest it, backfill the nightly batch layer, train the model, score logins through the API (~20 minutes on 2 cores, stop 64)
	@echo "demo: starting from a clean data/ (spool, world, lake, online, serving)"
	rm -rf data/spool data/world data/lake data/online data/serving
	$(BIN)/ato simulate --trainable --accounts $(DEMO_ACCOUNTS) --days $(DEMO_DAYS) --out data/spool --world data/world
	$(BIN)/ato ingest data/spool
	$(BIN)/ato sql --raw "SELECT stream, reason, count(*) AS n FROM bronze_quarantine GROUP BY ALL ORDER BY n DESC"
	@echo "demo: nightly backfill over every simulated day (fraud rings weekly, aggregates, training set, gates, sensitive-action rows, publish)"
	$(BIN)/ato nightly --all --steps validate,rings,aggregates,training,gate,actions,publish,report
	$(BIN)/ato rings nights --last 7
	$(BIN)/ato rings list --min-size 5 || test $$? -eq 2  # 2: no ring night to list (too few reported ring cases in a small world)
	$(BIN)/ato sql "SELECT login_date, count(*) AS logins, sum(label) AS ato_labels, round(avg(new_device), 3) AS new_device_share FROM gold_training_set GROUP BY ALL ORDER BY 1"
	@echo "demo: training the model (rolling-origin choices, baselines on the same test days), registering and promoting it"
	$(BIN)/ato train --promote
	@echo "demo: starting the scoring service on the snapshot of the last day's eve and replaying that day through it"
	$(BIN)/ato replay --score-all
	@echo "demo: monitoring the replayed decisions (filed under the replayed day) against the world's labels: outcomes, daily metrics, drift, retrain check"
	$(BIN)/ato nightly --date $$(ls data/serving/audit | tail -1) --steps decisions,monitor,report,retention
	$(BIN)/ato sql "SELECT decided_date, decisions, ato, round(recall_challenged, 3) AS recall, round(est_recall_challenged, 3) AS est_recall, round(false_lock_rate, 5) AS false_locks, round(friction_index, 2) AS friction, round(net_benefit_vs_rules) AS vs_rules FROM gold_business_daily"
	$(BIN)/ato monitor check --date $$(ls data/serving/audit | tail -1) --dry-run
	@echo "demo: the analysts' saved queries, and the insights report answering their fifteen questions"
	$(BIN)/ato query run device_switchers
	$(BIN)/ato insights

bench: setup
	$(BIN)/python benchmarks/ingest.py

bench-serving: setup  ## our API vs a bare FastAPI + LightGBM endpoint, 1 worker each (after make demo)
	$(BIN)/python benchmarks/serving.py

serve: setup  ## the scoring API on :8000 over the demo data; set ATO_API_KEYS first (README "Key scopes")
	@test -n "$$ATO_API_KEYS" || { echo "set ATO_API_KEYS=<key>[,<key>...] or name:scope[,scope]=<key>[;...]: every /v1 call needs one in X-API-Key"; exit 2; }
	$(BIN)/ato serve --port 8000

bench-nightly: setup  ## builds a ~1 M-login world once (data/bench), then times the nightly at 1x and 10x
	test -d data/bench/lake || $(BIN)/python benchmarks/ingest.py --keep data/bench
	$(BIN)/python benchmarks/nightly.py --base data/bench --scales 1,10

insights: setup  ## the analysts' insights report on the demo lake, and a headless-Chromium screenshot of its first screen (after make demo)
	$(BIN)/ato insights --out data/reports/insights.html
	@command -v chromium >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends chromium; }
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,1600 \
	  --screenshot=data/reports/insights.png file://$(CURDIR)/data/reports/insights.html 2>/dev/null
	@echo "insights: data/reports/insights.html, first screen in data/reports/insights.png"

cluster-up: setup  ## a Spark standalone master and 2 workers on 127.0.0.1 (then ATO_SPARK_MASTER=<printed URL> make ...)
	$(BIN)/ato cluster up

cluster-down:  ## stop them
	$(BIN)/ato cluster down

airflow-init: setup
	@mkdir -p .airflow
	$(AIRFLOW_ENV) $(BIN)/airflow db migrate >/dev/null

airflow-test: airflow-init  ## `airflow dags test ato_nightly $(DATE)` on the demo data (after make demo)
	$(AIRFLOW_ENV) ATO_DAG_RETRIES=0 $(BIN)/airflow dags test ato_nightly $(DATE)

airflow-retrain: airflow-init  ## `airflow dags test ato_retrain $(DATE)` on the demo data (after make demo)
	$(AIRFLOW_ENV) ATO_DAG_RETRIES=0 $(BIN)/airflow dags test ato_retrain $(DATE)

airflow-up: setup  ## Airflow's API server, DAG processor and scheduler on .airflow (foreground; ato_nightly only when triggered)
	$(BIN)/ato airflow up --home .airflow

airflow-trigger: setup  ## trigger ato_nightly for $(DATE) through the REST API and follow it (with make airflow-up running)
	$(BIN)/ato airflow trigger --home .airflow --date $(DATE) --wait

clean:
	rm -rf data .airflow .pytest_cache .mypy_cache .ruff_cache $(VENV)/.installed
