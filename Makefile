# The few verbs a person types. Logic lives in scripts/; see README.md.
.PHONY: setup build lint test images up down clean

setup:
	bash scripts/setup-host.sh

build:
	npx tsc -b

lint:
	npx eslint .
	npx prettier --check .

# Setup and lint first, so that the test summary is the last thing printed.
test:
	@$(MAKE) --no-print-directory setup
	@$(MAKE) --no-print-directory lint
	node scripts/run-tests.mjs

images:
	bash scripts/build-images.sh

up: setup
	@echo "make up: the cluster launcher does not exist yet (a later issue adds it); nothing was started" >&2; exit 1

down:
	@echo "make down: the cluster launcher does not exist yet (a later issue adds it); nothing to stop" >&2; exit 1

clean:
	npx tsc -b --clean
