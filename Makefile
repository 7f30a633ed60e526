# Songtor: two commands on a fresh machine.
#   make run   — local Kafka + Keycloak + the four services (SQLite) + demo data; Ctrl-C stops all
#                (BROKERS=3: a three-node Kafka cluster, every topic with 3 replicas, 2 in sync)
#   make test  — installs what it needs (venv, Kafka jars, Keycloak, promtool, helm, PostgreSQL) and runs the whole suite
#   make token USER=clerk-6406 — an access token of a demo user, while `make run` runs
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run migrate test test-faults test-unit kafka-fetch keycloak-fetch token postgres-start promtool chromium helm-tools helm-estate stop clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --constraint constraints.txt --editable ".[test]"
	touch $(STAMP)

install: $(STAMP)

kafka-fetch:
	bash deploy/kafka/kafka.sh fetch

# Keycloak, the identity provider of `make run` and the tests (Maven Central's keycloak-quarkus-dist).
keycloak-fetch:
	bash deploy/keycloak/keycloak.sh fetch

token:
	@test -n "$(USER)" || { echo "usage: make token USER=<demo user, e.g. clerk-6406>" >&2; exit 2; }
	@KEYCLOAK_DATA_DIR=.data/keycloak bash deploy/keycloak/keycloak.sh token "$(USER)"

postgres-start:
	bash deploy/postgres/pg.sh start

# promtool checks the Prometheus config and alert rules (Debian package, extracted into .data/tools).
promtool:
	bash deploy/prometheus/promtool.sh ensure >/dev/null

# helm (built from its Go module) and the KEDA and Strimzi CRDs, for the Helm chart's tests (.data/tools).
helm-tools:
	bash deploy/helm/tools.sh ensure

# The chart's Kafka estate, after a change of shared/kafka/topology.py (docs/cluster.md).
helm-estate: install
	$(PY) scripts/helm_values.py

# Headless Chromium renders the ops page in its test (Debian's chromium and chromium-driver).
chromium:
	bash deploy/ops/chromium.sh ensure >/dev/null

run: install kafka-fetch keycloak-fetch
	KEEP=$(KEEP) BROKERS=$(BROKERS) $(PY) deploy/local/run_stack.py

# Every service's database to the code's schema (docs/operations.md#schema-migrations): the one
# <PREFIX>DATABASE_URL of the environment names, else the SQLite file `make run` uses (.data/run).
MIGRATED := intake:INTAKE_ routing:ROUTING_ agency-adapters:AGENCY_ reporting:REPORTING_
migrate: install
	@set -e; for pair in $(MIGRATED); do service=$${pair%%:*}; prefix=$${pair#*:}; \
	  url_var=$${prefix}DATABASE_URL; url=$${!url_var:-sqlite:///.data/run/$$service.db}; \
	  $(PY) -m shared.db.migrate --service $$service --database-url "$$url" upgrade; done

# Unit tests, then integration, end-to-end and fault tests against the real broker and
# PostgreSQL; every real-component test runs on SQLite and on PostgreSQL.
# The test PostgreSQL is stopped afterwards, pass or fail (the test broker stops with pytest).
test: install kafka-fetch keycloak-fetch promtool chromium helm-tools postgres-start
	$(PY) -m pytest tests/unit tests/integration tests/e2e tests/faults -m "not fault_matrix" -v -p no:cacheprovider --durations=10; \
	status=$$?; bash deploy/postgres/pg.sh stop; \
	KEYCLOAK_PORT=18180 KEYCLOAK_DATA_DIR=.data/test/keycloak bash deploy/keycloak/keycloak.sh stop; exit $$status

# The whole fault matrix (tests/faults, docs/testing.md#the-fault-matrix) on the three-node cluster:
# make test runs its leader kill and service kills; this runs every fault, about 25 minutes.
test-faults: install kafka-fetch keycloak-fetch postgres-start
	$(PY) -m pytest tests/faults -v -s -p no:cacheprovider --durations=0; \
	status=$$?; bash deploy/postgres/pg.sh stop; \
	KEYCLOAK_PORT=18180 KEYCLOAK_DATA_DIR=.data/test/keycloak bash deploy/keycloak/keycloak.sh stop; exit $$status

test-unit: install promtool helm-tools
	$(PY) -m pytest tests/unit -q

stop:
	-KAFKA_DATA_DIR=.data/run/kafka bash deploy/kafka/kafka.sh stop
	-KAFKA_PORT=19092 KAFKA_DATA_DIR=.data/test/kafka bash deploy/kafka/kafka.sh stop
	-KAFKA_PORT=19192 KAFKA_DATA_DIR=.data/test/kafka-cluster bash deploy/kafka/kafka.sh stop
	-bash deploy/postgres/pg.sh stop
	-KEYCLOAK_DATA_DIR=.data/keycloak bash deploy/keycloak/keycloak.sh stop
	-KEYCLOAK_PORT=18180 KEYCLOAK_DATA_DIR=.data/test/keycloak bash deploy/keycloak/keycloak.sh stop

clean: stop
	rm -rf .data test-artifacts
