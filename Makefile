# Sluice: the targets a newcomer needs. `make test` is what CI runs (.ci/run).
CARGO ?= cargo
# The stamp of the pinned Python tools in .venv (the rule is below, by the npm tools).
PY_TOOLS := .venv/.tools-4

.PHONY: help run validate bench bench-lambda test lint package package-check deploy

help:
	@echo "make run      run the first example pipeline on this machine (sluice run)"
	@echo "make validate check every example pipeline as CreatePipeline would"
	@echo "make test     lint (formatting, cfn-lint, clippy with warnings denied) and every test"
	@echo "make lint     formatting, cfn-lint on infra/template.yaml (as written and as SAM translates it), and clippy only"
	@echo "make package  build the arm64 Lambda zips (installs cargo-lambda and zig from PyPI into .venv)"
	@echo "make package-check  build the zips and check them against infra/template.yaml (CI runs it)"
	@echo "make deploy   deploy to an AWS account with SAM (sam deploy --guided; see infra/README.md)"

run:
	$(CARGO) run -q -p sluice-cli -- run examples/simple-web-app/pipeline.json

validate:
	$(CARGO) run -q -p sluice-cli -- validate examples/*/pipeline.json

# Benchmarks (release builds; results go to docs/benchmarks.md by hand).
bench:
	$(CARGO) bench -p sluice-statemachine --bench engine
	$(CARGO) bench -p sluice-local --bench orchestration
	$(CARGO) bench -p sluice-api --bench api

# Each Lambda binary's cold init against a Runtime API stand-in, and its stripped size (release builds of
# the eight functions first: several minutes on two cores).
bench-lambda:
	$(CARGO) build --release --locked $(addprefix -p sluice-function-,api webhook approval dispatcher worker-source worker-build worker-deploy worker-invoke)
	$(CARGO) build --release --locked -p sluice-lambda --example hello_world
	$(CARGO) bench -p sluice-lambda --bench cold_init

lint: $(PY_TOOLS)
	$(CARGO) fmt --all --check
	.venv/bin/cfn-lint infra/template.yaml
	.venv/bin/python infra/sam_translate.py infra/template.yaml target/infra/template.json
	.venv/bin/cfn-lint target/infra/template.json
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

# npm tools the suites run against (asl-validator, aws-local-stepfunctions, playwright-core for the browser
# test, which drives Debian's /usr/bin/chromium: .ci/run installs it), pinned by package-lock.json.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

# Python tools, pinned, in one venv: the aws CLI (the suites drive it as a real client), moto_server (the
# AWS adapters' contract tests run against it), cfn-lint (lint checks infra/template.yaml), aws-sam-translator
# (the CloudFormation SAM makes of it, which lint checks too: infra/sam_translate.py), pyawscron (an AWS
# cron parser `sluice schedule next` is compared with, cli/tests/schedule_pyawscron.rs) and aiosmtpd (the
# SMTP server approval mail is delivered to, shared/local/tests/notifications.rs). They share the venv
# without conflict: awscli 1.x vendors its own botocore, so moto's boto3/botocore pins never meet it. The
# stamp names the tool set: bump its number when a pin changes, so an existing .venv (say, one holding only
# the aws CLI) is upgraded in place on the next make.
$(PY_TOOLS):
	test -x .venv/bin/python || python3 -m venv .venv
	.venv/bin/pip install --quiet --disable-pip-version-check \
		'awscli==1.46.3' 'moto[server]==5.2.5' 'cfn-lint==1.58.0' 'pyawscron==1.0.7' 'aiosmtpd==1.4.6' \
		'aws-sam-translator==1.115.0'
	touch $@

test: lint node_modules/.package-lock.json $(PY_TOOLS)
	$(CARGO) test --workspace --locked

# The serverless runtime's Lambda binaries (functions/), cross-compiled for arm64 (provided.al2023) into
# target/lambda/<binary>/bootstrap.zip, where infra/template.yaml's CodeUri looks. cargo-lambda and zig come
# from PyPI as prebuilt binaries (seconds, where `cargo install cargo-lambda` compiles for ten minutes), and
# rustup adds the aarch64 standard library. Release builds with fat LTO: up to half an hour cold on two cores.
PACKAGE_TOOLS := .venv/.package-tools-1
LAMBDA_BINS := sluice-api sluice-webhook sluice-approval sluice-dispatcher sluice-worker-source sluice-worker-build sluice-worker-deploy sluice-worker-invoke
# Where the ziglang wheel put zig (evaluated when a recipe runs, after the tools are installed).
ZIG_DIR = $(shell .venv/bin/python -c 'import ziglang, os; print(os.path.dirname(ziglang.__file__))')

$(PACKAGE_TOOLS): $(PY_TOOLS)
	.venv/bin/pip install --quiet --disable-pip-version-check 'cargo-lambda==1.9.2' 'ziglang==0.17.0'
	rustup target add aarch64-unknown-linux-gnu
	touch $@

package: $(PACKAGE_TOOLS)
	PATH="$(CURDIR)/.venv/bin:$(ZIG_DIR):$$PATH" $(CARGO) lambda build --release --arm64 --locked \
		--output-format zip --lambda-dir target/lambda $(addprefix --bin ,$(LAMBDA_BINS))

# The zips as the template deploys them: one executable `bootstrap` each, AArch64 ELF, at most 12 MB.
package-check: package
	.venv/bin/python infra/check_package.py

# Deploys to the AWS account of your credentials; asks for the region and the parameters the first time.
deploy:
	@command -v sam >/dev/null || { echo "make deploy: needs the AWS SAM CLI and AWS credentials; see infra/README.md" >&2; exit 1; }
	sam deploy --guided --template-file infra/template.yaml
