# The few verbs a person types. Logic lives in scripts/; see README.md.
.PHONY: setup build lint test test-deploy images load up down status logs clean vms vms-down deploy

setup:
	bash scripts/setup-host.sh

build:
	npx tsc -b

# Also type-checks every test file (tsc -b covers src only), against the packages' sources.
lint:
	npx eslint .
	npx prettier --check .
	npx tsc -p tsconfig.test.json

# Setup and lint first, so that the test summary is the last thing printed.
test:
	@$(MAKE) --no-print-directory setup
	@$(MAKE) --no-print-directory lint
	node scripts/run-tests.mjs packages
	@# make up's launcher: components restarted with back-off, one that cannot start says why.
	node scripts/run-tests.mjs test/cluster
	@# The end-to-end journey runs alone: its cluster owns the node's pods and KUBE-* chains.
	node scripts/run-tests.mjs test/e2e
	@# Then the compose cluster (docker-compose.yml): three nodes in containers of the Skiff image.
	node scripts/run-tests.mjs test/compose

# make deploy end to end on three stand-in VMs (6-10 minutes, so not part of make test).
test-deploy:
	@$(MAKE) --no-print-directory setup
	node scripts/run-tests.mjs test/deploy

# The local test images and registry, and the Skiff image (skiff.local/skiff:<version>).
images:
	bash scripts/build-images.sh

# Copies a local image into every node of the compose cluster: make load IMAGE=my/app:dev
load:
	@bash scripts/load-image.sh "$(IMAGE)"

# A whole cluster on this host: etcd (ETCD=1 or 3), the control plane and one node.
up: setup
	@ETCD=$(ETCD) bash scripts/cluster.sh up

down:
	@bash scripts/cluster.sh down

status:
	@bash scripts/cluster.sh status

logs:
	@bash scripts/cluster.sh logs $(COMPONENT)

clean:
	@bash scripts/cluster.sh clean
	npx tsc -b --clean

# Three stand-in VMs on this host (containers with systemd and sshd) for `make deploy`.
vms:
	@bash scripts/vms.sh up

vms-down:
	@bash scripts/vms.sh down

# A highly available cluster on three Debian machines over SSH: make deploy INVENTORY=path
deploy:
	@bash scripts/deploy.sh "$(INVENTORY)"
