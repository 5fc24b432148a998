# Herald — run `make help` for the targets.
GO        ?= go
STATICCHECK_VERSION ?= v0.8.2
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build the herald binary
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o herald .

.PHONY: run
run: ## Run Herald; without HERALD_BOT_TOKEN, the sandbox at http://127.0.0.1:8080/
	$(GO) run -ldflags "-X main.version=$(VERSION)" . run

.PHONY: sandbox
sandbox: ## Run the sandbox even when HERALD_BOT_TOKEN is set (emulated Telegram, web chat)
	$(GO) run -ldflags "-X main.version=$(VERSION)" . sandbox

.PHONY: test
test: ## Vet, then run every test with the race detector
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m ./...

.PHONY: soak
soak: ## make test 5 times in a row beside another make test (SOAK_RUNS; ~50 min on 2 cores)
	./scripts/soak.sh

.PHONY: bench
bench: build ## Run every benchmark scenario (about 5 minutes; see BENCHMARKS.md)
	./herald bench $(BENCH_FLAGS)

.PHONY: lint
lint: ## gofmt, go vet and staticcheck
	@test -z "$$(gofmt -l .)" || (gofmt -l . && echo "gofmt: files above need formatting" && exit 1)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZTIME (default 1m)
	$(GO) test -run XXX -fuzz FuzzRender -fuzztime $${FUZZTIME:-1m} ./render/
	$(GO) test -run XXX -fuzz FuzzCSV -fuzztime $${FUZZTIME:-1m} ./importer/
	$(GO) test -run XXX -fuzz FuzzXLSX -fuzztime $${FUZZTIME:-1m} ./importer/
	$(GO) test -run XXX -fuzz FuzzIDList -fuzztime $${FUZZTIME:-1m} ./importer/
	$(GO) test -run XXX -fuzz FuzzFlowCallback -fuzztime $${FUZZTIME:-1m} ./flows/
	$(GO) test -run XXX -fuzz FuzzTemplateContent -fuzztime $${FUZZTIME:-1m} ./flows/
	$(GO) test -run XXX -fuzz FuzzParseControlCallback -fuzztime $${FUZZTIME:-1m} ./queue/
