# Stripetask: `make run` to try it locally, `make test` to check everything.
# `make tools` (a prerequisite of both) provides the tools the project needs,
# at pinned versions, in ./bin: stripe-mock and aws-lambda-rie from the Go
# module proxy; moto_server and cfn-lint from PATH when they are there, else
# pip-installed from PyPI into a Python virtual environment ./bin/venv
# (scripts/python-tools; needs python3 with venv and pip).

SHELL := bash
GO ?= go
BIN := $(CURDIR)/bin
export PATH := $(BIN):$(PATH)

STRIPE_MOCK_VERSION := v0.203.0
# The Lambda Runtime Interface Emulator, the runtime API `sam local` runs
# inside its container: make test runs the bootstraps under it.
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
BENCHSTAT_VERSION := v0.0.0-20260908200009-22c9c6c9d4da
# The Python tools of the tests, when not on PATH: moto_server (AWS APIs)
# and cfn-lint with the SAM translator (template.yaml).
MOTO_VERSION := 5.2.1
CFN_LINT_VERSION := 1.51.0
SAM_TRANSLATOR_VERSION := 1.110.0
PYTHON ?= python3

# Where `make run` and `make run-pay` listen, and where `make send` posts.
# Loopback by default: the local modes run with test credentials published
# in the README. `make run HOST=0.0.0.0` opts into every interface. HOST is
# taken from make's command line only, not from the environment, where some
# shells export HOST as the machine's name.
HOST := 127.0.0.1
PORT ?= 3000
PAY_PORT ?= 3001
# host:port, with an IPv6 host in brackets.
hostport = $(if $(findstring :,$(1)),[$(1)]:$(2),$(1):$(2))
# The host `make send` posts to: HOST, or loopback when HOST is a wildcard.
SEND_HOST := $(or $(filter-out 0.0.0.0 ::,$(HOST)),127.0.0.1)

# The signing secret of the local modes and of the fixtures in events/.
# It signs nothing real: production reads STRIPE_WEBHOOK_SECRET from secrets.
LOCAL_WEBHOOK_SECRET := whsec_stripetask_local_test_secret_0123456789

# Lambda build settings: static, arm64, no RPC shim, stripped, and with
# encoding/json on its v2 engine (GOEXPERIMENT=jsonv2): its first decode of a
# stripe-go type does not build encoders for the whole stripe-go type graph,
# which cost ~12 ms of each cold start (see README, Performance). make test
# runs the decoding tests and the bootstraps under aws-lambda-rie built the
# same way. `make build LAMBDA_GOEXPERIMENT=` builds without it.
LAMBDA_GOEXPERIMENT ?= jsonv2
LAMBDA_ENV = CGO_ENABLED=0 GOOS=linux GOARCH=arm64 GOEXPERIMENT=$(LAMBDA_GOEXPERIMENT)
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -ldflags='-s -w'

.PHONY: all run run-pay send replay test lint lint-template tools python-tools events resign-fixtures bench build register clean help

all: test

help:
	@echo "make run     local webhook on $(call hostport,$(HOST),$(PORT)) (HOST, PORT; stripe-mock if STRIPE_KEY is unset)"
	@echo "make test    gofmt, go vet, go test -race ./..."
	@echo "make tools   stripe-mock, aws-lambda-rie, moto_server, cfn-lint into ./bin (the last two unless on PATH)"
	@echo "make run-pay local payments API on $(call hostport,$(HOST),$(PAY_PORT)) (HOST, PAY_PORT)"
	@echo "make send EVENT=charge.succeeded   sign a fixture afresh and POST it to make run (EVENT=path/to/fixture.json too)"
	@echo "make events  re-signed copies of the fixtures in build/events/ (events/ is left as it is)"
	@echo "make bench   runtime vs hand-written baseline, as ratios (benchstat)"
	@echo "make build   Lambda bootstrap binaries under build/"
	@echo "make register  create/update the Stripe webhook endpoint for the deployed stack"
	@echo "make replay ARGS=\"evt_1 evt_2\" | ARGS=\"-since 2h -type invoice.*\"   run events from Stripe's Events API through the Handler"

tools: $(BIN)/stripe-mock $(BIN)/aws-lambda-rie python-tools

# moto_server and cfn-lint: from PATH, else a venv under ./bin (see the top).
python-tools:
	@PYTHON=$(PYTHON) ./scripts/python-tools $(BIN) "moto[server]==$(MOTO_VERSION)" "cfn-lint==$(CFN_LINT_VERSION)" "aws-sam-translator==$(SAM_TRANSLATOR_VERSION)"

$(BIN)/stripe-mock:
	GOBIN=$(BIN) $(GO) install github.com/stripe/stripe-mock@$(STRIPE_MOCK_VERSION)

$(BIN)/aws-lambda-rie:
	GOBIN=$(BIN) $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

$(BIN)/benchstat:
	GOBIN=$(BIN) $(GO) install golang.org/x/perf/cmd/benchstat@$(BENCHSTAT_VERSION)

run: tools
	LOCAL_WEBHOOK_SECRET=$(LOCAL_WEBHOOK_SECRET) ./scripts/run-local webhook $(call hostport,$(HOST),$(PORT))

run-pay: tools
	LOCAL_WEBHOOK_SECRET=$(LOCAL_WEBHOOK_SECRET) ./scripts/run-local pay $(call hostport,$(HOST),$(PAY_PORT))

# Sends a fixture to `make run` (same HOST and PORT), signed afresh with the
# secret make run uses: STRIPE_WEBHOOK_SECRET if set, else the local one.
send:
	@[ -n "$(EVENT)" ] || { echo "usage: make send EVENT=charge.succeeded   (an events/ fixture's name, or EVENT=path/to/fixture.json)" >&2; exit 2; }
	@$(GO) build -o build/local/send ./cmd/send
	@STRIPE_WEBHOOK_SECRET="$${STRIPE_WEBHOOK_SECRET:-$(LOCAL_WEBHOOK_SECRET)}" build/local/send -url http://$(call hostport,$(SEND_HOST),$(PORT))/webhook "$(EVENT)"

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# cfn-lint 1.x with the SAM translator validates template.yaml; warnings fail.
# (make test runs it too, as TestCfnLint.)
lint-template: python-tools
	cfn-lint template.yaml

test: tools lint
	$(GO) test -race -count=1 -timeout 5m ./...
	GOEXPERIMENT=$(LAMBDA_GOEXPERIMENT) $(GO) test -count=1 -timeout 5m ./dispatch/... ./internal/pipeline ./internal/webhookhttp ./handler

# The webhook fixtures, freshly signed with the local secret, as copies in
# build/events/ (same layout); events/ itself is left as it is.
WEBHOOK_FIXTURES = $$(find events -name '*.json' -not -path 'events/pay/*' -not -path 'events/eventbridge/*' | sort)
events:
	$(GO) run ./cmd/events -secret $(LOCAL_WEBHOOK_SECRET) -o build $(WEBHOOK_FIXTURES)
	@echo "re-signed copies are in build/events/ (events/ is unchanged), e.g.: sam local invoke WebhookFunction -e build/events/charge.succeeded.json --env-vars env.json"

# Maintainers only, after editing a committed fixture's body: re-sign
# events/ in place (this changes tracked files).
resign-fixtures:
	$(GO) run ./cmd/events -secret $(LOCAL_WEBHOOK_SECRET) -w $(WEBHOOK_FIXTURES)

# Benchmarks: the full webhook path against a hand-written baseline in the
# same run. Each round runs every benchmark once, so baseline and runtime
# interleave and share the machine's noise; benchstat then compares medians.
# Also built with GOEXPERIMENT=jsonv2, to see what encoding/json v2 changes.
BENCH_COUNT ?= 10
QUEUE_BENCH_COUNT ?= 3
BENCH_TIME ?= 1s
DEDUP_BENCH_TIME ?= 200x
bench: tools $(BIN)/benchstat
	@mkdir -p build/bench
	$(GO) test -c -o build/bench/webhook.test ./functions/webhook/
	GOEXPERIMENT=jsonv2 $(GO) test -c -o build/bench/webhook-jsonv2.test ./functions/webhook/
	@rm -f build/bench/webhook.txt build/bench/webhook-jsonv2.txt
	@cd functions/webhook && for i in $$(seq $(BENCH_COUNT)); do \
		echo "round $$i/$(BENCH_COUNT)" >&2; \
		../../build/bench/webhook.test -test.run '^$$' -test.bench BenchmarkWebhook -test.benchmem -test.benchtime $(BENCH_TIME) >> ../../build/bench/webhook.txt; \
		../../build/bench/webhook-jsonv2.test -test.run '^$$' -test.bench BenchmarkWebhook -test.benchmem -test.benchtime $(BENCH_TIME) >> ../../build/bench/webhook-jsonv2.txt; \
	done
	@echo "== runtime vs baseline (encoding/json v1, the default build)"
	benchstat -col /impl build/bench/webhook.txt
	./scripts/bench-ratios build/bench/webhook.txt
	@echo "== runtime vs baseline, GOEXPERIMENT=jsonv2"
	./scripts/bench-ratios build/bench/webhook-jsonv2.txt
	@echo "== GOEXPERIMENT=jsonv2 vs the default build, per implementation"
	benchstat build/bench/webhook.txt build/bench/webhook-jsonv2.txt
	@echo "== dedup: Claim+Complete vs one unconditional PutItem, against moto_server"
	$(GO) test -c -o build/bench/dedup.test ./internal/dedup/
	@rm -f build/bench/dedup.txt
	@cd internal/dedup && for i in $$(seq $(BENCH_COUNT)); do \
		../../build/bench/dedup.test -test.run '^$$' -test.bench BenchmarkRoundTrip -test.benchmem -test.benchtime $(DEDUP_BENCH_TIME) >> ../../build/bench/dedup.txt; \
	done
	benchstat -col /impl build/bench/dedup.txt
	@echo "== cold start under aws-lambda-rie: webhook vs a hello-world bootstrap"
	GO=$(GO) ./scripts/bench-coldstart $(BENCH_COUNT)
	@echo "== webhook answer time: queue mode vs sync mode (a method of 2 s), against moto_server"
	QUEUE_BENCH_COUNT=$(QUEUE_BENCH_COUNT) GO=$(GO) ./scripts/bench-queue

GO_SOURCES := $(shell find . -name '*.go' -not -path './build/*' -not -path './.aws-sam/*') go.mod go.sum

build: build/webhook/bootstrap build/pay/bootstrap build/reconcile/bootstrap build/worker/bootstrap

build/%/bootstrap: $(GO_SOURCES)
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $@ ./functions/$*

# sam build (BuildMethod: makefile) calls these with ARTIFACTS_DIR set.
build-WebhookFunction:
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/webhook

build-PayFunction:
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/pay

build-ReconcileFunction:
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/reconcile

build-WorkerFunction:
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/worker

# Runs events from Stripe's Events API through the Handler, with the
# functions' secrets and dedup table; see README "When Stripe cannot reach
# you". ARGS: event ids, or -since 2h [-type invoice.*] [-force].
replay:
	$(GO) run ./cmd/replay $(ARGS)

# Registers the deployed webhook with Stripe; see README "Deploying".
# STACK names the CloudFormation stack; REGISTER_FLAGS adds flags (-dry-run).
STACK ?= stripetask
register:
	$(GO) run ./cmd/register -stack $(STACK) $(REGISTER_FLAGS)

clean:
	rm -rf build .aws-sam
