# The two commands: `make run` starts the pack, `make test` runs the tests.
# Each creates .venv when missing and installs the project with its dev extras.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test test-unit protos lint format bench bench-rules bench-classification bench-complaints bench-gateway bench-evaluation bench-reclassify clean lock mutation mutation-changed

# Installs exactly the versions in constraints.txt (the lock); `make lock` renews it.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# Resolves pyproject.toml afresh in a scratch venv and writes every version it installed
# to constraints.txt (docs/testing.md: updating dependencies).
LOCK_VENV := .lock-venv
lock:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	{ echo "# The lock: every installed version. Regenerate with 'make lock', never by hand."; \
	  $(LOCK_VENV)/bin/python -m pip freeze --exclude-editable; } > constraints.txt
	rm -rf $(LOCK_VENV)

# Mutation testing of the core on the unit tier; prints the score per module.
mutation: $(STAMP)
	$(BIN)/python scripts/mutation.py $(MUTATION_ARGS)

# The core modules changed since scripts/mutation-baseline, capped in time (CI's step).
mutation-changed: $(STAMP)
	$(BIN)/python scripts/mutation.py --changed $(MUTATION_ARGS)

run: $(STAMP)
	$(BIN)/retailcare up

# Two workers, each test file on one of them (a file's tests share servers and packs);
# PYTEST_ARGS="-n 0" runs them in this process instead.
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

# The fast tier: no servers, no databases (tests/unit).
test-unit: $(STAMP)
	$(BIN)/python -m pytest -n 2 tests/unit $(PYTEST_ARGS)

# The generated code, and docs/limits.md from the limit annotations.
protos: $(STAMP)
	$(BIN)/python scripts/gen_protos.py
	$(BIN)/python -m services.common.limits_page > docs/limits.md

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

BENCHES := bench-rules bench-classification bench-complaints bench-gateway bench-evaluation bench-reclassify

# Every benchmark, then one table of their figures against the targets (benchmarks/summary.py).
bench: $(STAMP)
	@figures=$$(mktemp); \
	BENCH_SUMMARY=$$figures $(MAKE) --no-print-directory -k $(BENCHES); status=$$?; \
	$(BIN)/python -m benchmarks.summary $$figures; rm -f $$figures; exit $$status

bench-rules: $(STAMP)
	$(BIN)/python -m benchmarks.rules_bench

clean:
	rm -rf $(VENV) data .pytest_cache

bench-classification: $(STAMP)
	$(BIN)/python -m benchmarks.classification_bench

bench-complaints: $(STAMP)
	$(BIN)/python -m benchmarks.complaints_bench

bench-gateway: $(STAMP)
	$(BIN)/python -m benchmarks.gateway_bench

bench-evaluation: $(STAMP)
	$(BIN)/python -m benchmarks.evaluation_bench

# Publish -> every customer on the new version, 100,000 customers; BENCH_ARGS=--postgres for PostgreSQL.
bench-reclassify: $(STAMP)
	$(BIN)/python -m benchmarks.reclassify_bench $(BENCH_ARGS)
