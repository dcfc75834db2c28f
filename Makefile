# Two commands do everything on a fresh machine: `make sandbox` and `make test`.
# Both run `setup` first, which installs Node 24 (when the system Node is older), the npm packages
# and the Python venv (moto, Airflow 3, pytest, cfn-lint); a second run only checks stamps.
SHELL := /bin/bash
export PATH := $(CURDIR)/.tooling/node/bin:$(CURDIR)/node_modules/.bin:$(CURDIR)/.venv/bin:$(PATH)

.PHONY: setup sandbox sandbox-airflow test lint unit dags bench chaos build clean

setup:
	@bash scripts/setup.sh

sandbox: setup
	@bin/catalog-sync sandbox $(ARGS)

# The sandbox with real Airflow 3 running the reconciliation DAG every two minutes.
sandbox-airflow: setup
	@bin/catalog-sync sandbox --airflow $(ARGS)

test: setup
	@bash scripts/test.sh

lint: setup
	@bash scripts/test.sh lint

bench: setup
	@npm run --silent bench

chaos: setup
	@npm run --silent chaos

build: setup
	@npm run --silent build

clean:
	rm -rf node_modules .venv .tooling dist .local
