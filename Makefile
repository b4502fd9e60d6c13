# Two set-up commands for a fresh machine (README): `make demo` and `make test`.
# Both install the locked environment first (uv, bootstrapped with pip if it is not on PATH).

UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
export DAGSTER_DISABLE_TELEMETRY := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DO_NOT_TRACK := 1
export GX_ANALYTICS_ENABLED := false

.PHONY: install demo test test-long lint lint-contracts check-definitions ui clean

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

install: $(if $(findstring .tools,$(UV)),.tools/bin/uv)
	$(UV) sync --frozen --extra dev --extra prod --compile-bytecode  # prod: tests/deploy; bytecode: imports stay fast where PYTHONDONTWRITEBYTECODE is set

demo: install           ## generate the sample data and run the whole mesh end to end
	$(UV) run --frozen mesh demo

test: install lint-contracts  ## lint, type-check and run the test suite
	$(UV) run --frozen ruff check .
	$(UV) run --frozen mypy
	$(UV) run --frozen pytest -n 2 --dist loadfile  # two workers, each test file on one of them

# The production topology (ten services and their runs) runs alone, after the others: beside another
# daemon on two cores, the daemon tests' propagation outgrew their bound.
test-long: install      ## the minutes-long end-to-end tests: the daemon's, mesh check, mesh ui, the topology (CI runs them too)
	$(UV) run --frozen pytest -m long -n 2 --dist loadfile --ignore tests/deploy/test_topology.py
	$(UV) run --frozen pytest -m long tests/deploy/test_topology.py

# datacontract-cli lives in an environment of its own: its duckdb extra pins an older DuckDB.
DATACONTRACT := .tools/datacontract/bin/datacontract
$(DATACONTRACT): quality/datacontract-cli.requirements.txt | install
	$(UV) venv --quiet --allow-existing --python .venv/bin/python .tools/datacontract
	VIRTUAL_ENV=.tools/datacontract $(UV) pip install --quiet -r quality/datacontract-cli.requirements.txt
	touch $@

lint-contracts: $(DATACONTRACT)  ## `datacontract lint` (ODCS v3.1.0) on every contract in quality/contracts
	@for contract in quality/contracts/*/*.yaml; do \
	    out=$$($(DATACONTRACT) lint "$$contract" 2>&1) || { echo "$$out"; echo "datacontract lint failed: $$contract"; exit 1; }; \
	done; echo "datacontract lint: every contract in quality/contracts is valid ODCS v3.1.0"

check-definitions: install  ## load all six code locations with `dg check defs` (the dg workspace in pyproject.toml)
	$(UV) run --frozen mesh check --skip-run --skip-diff

ui: install             ## the Dagster UI on http://127.0.0.1:3000 with every code location
	$(UV) run --frozen mesh ui

clean:                  ## remove generated data (landing files, DuckDB files, ports, Dagster home)
	rm -rf data
