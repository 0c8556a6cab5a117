# Stripetask: `make run` to try it locally, `make test` to check everything.
# Tools the project needs are installed into ./bin by `make tools`, from the
# Go module proxy at pinned versions; nothing else needs installing.

SHELL := bash
GO ?= go
BIN := $(CURDIR)/bin
export PATH := $(BIN):$(PATH)

STRIPE_MOCK_VERSION := v0.203.0
# The Lambda Runtime Interface Emulator, the runtime API `sam local` runs
# inside its container: make test runs the bootstraps under it.
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
BENCHSTAT_VERSION := v0.0.0-20260908200009-22c9c6c9d4da

# The signing secret of the local modes and of the fixtures in events/.
# It signs nothing real: production reads STRIPE_WEBHOOK_SECRET from secrets.
LOCAL_WEBHOOK_SECRET := whsec_stripetask_local_test_secret_0123456789

# Lambda build settings: static, arm64, no RPC shim, stripped.
LAMBDA_ENV := CGO_ENABLED=0 GOOS=linux GOARCH=arm64
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -ldflags='-s -w'

.PHONY: all run run-pay test lint lint-template tools events bench build register clean help

all: test

help:
	@echo "make run     local webhook on :3000 (stripe-mock if STRIPE_KEY is unset)"
	@echo "make test    gofmt, go vet, go test -race ./..."
	@echo "make events  re-sign the fixtures in events/ with the local secret"
	@echo "make bench   runtime vs hand-written baseline, as ratios (benchstat)"
	@echo "make build   Lambda bootstrap binaries under build/"
	@echo "make register  create/update the Stripe webhook endpoint for the deployed stack"

tools: $(BIN)/stripe-mock $(BIN)/aws-lambda-rie

$(BIN)/stripe-mock:
	GOBIN=$(BIN) $(GO) install github.com/stripe/stripe-mock@$(STRIPE_MOCK_VERSION)

$(BIN)/aws-lambda-rie:
	GOBIN=$(BIN) $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

$(BIN)/benchstat:
	GOBIN=$(BIN) $(GO) install golang.org/x/perf/cmd/benchstat@$(BENCHSTAT_VERSION)

run: tools
	LOCAL_WEBHOOK_SECRET=$(LOCAL_WEBHOOK_SECRET) ./scripts/run-local webhook :3000

run-pay: tools
	LOCAL_WEBHOOK_SECRET=$(LOCAL_WEBHOOK_SECRET) ./scripts/run-local pay :3001

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# cfn-lint 1.x with the SAM translator validates template.yaml; warnings fail.
# (make test runs it too, as TestCfnLint.)
lint-template:
	@command -v cfn-lint >/dev/null || { echo 'cfn-lint not found: pip install "cfn-lint>=1"'; exit 1; }
	cfn-lint template.yaml

test: tools lint
	$(GO) test -race -count=1 -timeout 5m ./...

events:
	$(GO) run ./cmd/events -secret $(LOCAL_WEBHOOK_SECRET) $$(find events -name '*.json' -not -path 'events/pay/*' | sort)

# Benchmarks: the full webhook path against a hand-written baseline in the
# same run. Each round runs every benchmark once, so baseline and runtime
# interleave and share the machine's noise; benchstat then compares medians.
# Also built with GOEXPERIMENT=jsonv2, to see what encoding/json v2 changes.
BENCH_COUNT ?= 10
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

GO_SOURCES := $(shell find . -name '*.go' -not -path './build/*' -not -path './.aws-sam/*') go.mod go.sum

build: build/webhook/bootstrap build/pay/bootstrap

build/%/bootstrap: $(GO_SOURCES)
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $@ ./functions/$*

# sam build (BuildMethod: makefile) calls these with ARTIFACTS_DIR set.
build-WebhookFunction:
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/webhook

build-PayFunction:
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/pay

# Registers the deployed webhook with Stripe; see README "Deploying".
# STACK names the CloudFormation stack; REGISTER_FLAGS adds flags (-dry-run).
STACK ?= stripetask
register:
	$(GO) run ./cmd/register -stack $(STACK) $(REGISTER_FLAGS)

clean:
	rm -rf build .aws-sam
