# The two commands (see README): `make run` serves everything, `make test` runs every test.
# For developers: `make quick` (unit tests, under a minute, service environment only), `make lint`.
.PHONY: run test quick lint audit bench production

run:
	scripts/run.sh

test:
	scripts/test.sh

quick:
	scripts/quick.sh

lint:
	scripts/lint.sh

audit:
	scripts/audit.sh

bench:
	scripts/bench.sh

production:
	scripts/production.sh
