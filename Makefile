# Sluice: the targets a newcomer needs. `make test` is what CI runs (.ci/run).
CARGO ?= cargo

.PHONY: help run validate bench test lint package deploy

help:
	@echo "make run      run the first example pipeline on this machine (sluice run)"
	@echo "make validate check every example pipeline as CreatePipeline would"
	@echo "make test     formatting, clippy with warnings denied, and every test"
	@echo "make lint     formatting and clippy only"
	@echo "make package  build the Lambda zips (not yet: arrives with the serverless runtime)"
	@echo "make deploy   deploy with SAM (not yet: arrives with the serverless runtime)"

run:
	$(CARGO) run -q -p sluice-cli -- run examples/simple-web-app/pipeline.json

validate:
	$(CARGO) run -q -p sluice-cli -- validate examples/*/pipeline.json

# Benchmarks (release builds; results go to docs/benchmarks.md by hand).
bench:
	$(CARGO) bench -p sluice-statemachine --bench engine
	$(CARGO) bench -p sluice-local --bench orchestration

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

# npm tools the suites run against (asl-validator, aws-local-stepfunctions), pinned by package-lock.json.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

# Python tools the suites drive as real clients: the aws CLI (pinned).
.venv/bin/aws:
	python3 -m venv .venv
	.venv/bin/pip install --quiet --disable-pip-version-check 'awscli==1.46.3'

test: lint node_modules/.package-lock.json .venv/bin/aws
	$(CARGO) test --workspace --locked

package:
	@echo "make package: there is nothing to package yet. The Lambda functions (functions/) and their" >&2
	@echo "arm64 bootstrap zips arrive with the serverless runtime; see functions/README.md." >&2
	@exit 1

deploy:
	@echo "make deploy: there is nothing to deploy yet. The SAM template (infra/template.yaml) and" >&2
	@echo "'sam deploy --guided' arrive with the serverless runtime; see infra/README.md." >&2
	@exit 1
