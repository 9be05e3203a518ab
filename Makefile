# The two commands (see README): `make run` serves everything, `make test` runs every test.
.PHONY: run test lint bench

run:
	scripts/run.sh

test:
	scripts/test.sh

lint:
	.venv-service/bin/ruff check .

bench:
	scripts/bench.sh
