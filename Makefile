SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --warn-undefined-variables --no-builtin-rules

# Code generators and linters, pinned; installed into .tools/bin by `make tools`.
BUF_VERSION                := v1.75.0
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2

TOOLS := $(CURDIR)/.tools/bin
BUF   := $(TOOLS)/buf
GO_TEST_FLAGS ?= -count=1 -timeout=20m
FUZZTIME ?= 10s

# The fuzz targets, as package:target; `make fuzz` runs each in turn for FUZZTIME.
FUZZ_TARGETS := .:FuzzParseConfirmationPayload ./signedpdf:FuzzVerify ./signedpdf:FuzzIdentify \
	./rosterfile:FuzzParse ./voteimport:FuzzParseList ./voteimport:FuzzParseZaloText
# make crashtest: cycles ended by kill -9, then by SIGTERM.
CYCLES         ?= 20
SIGTERM_CYCLES ?= 5

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: tools
tools: $(BUF) $(TOOLS)/protoc-gen-go $(TOOLS)/protoc-gen-go-grpc ## Install the pinned code generators.

# Each tool's file name carries no version, so a stamp records which one is installed.
$(BUF): $(TOOLS)/.buf-$(BUF_VERSION)
$(TOOLS)/.buf-$(BUF_VERSION):
	GOBIN=$(TOOLS) go install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
	touch $@
$(TOOLS)/protoc-gen-go: $(TOOLS)/.protoc-gen-go-$(PROTOC_GEN_GO_VERSION)
$(TOOLS)/.protoc-gen-go-$(PROTOC_GEN_GO_VERSION):
	GOBIN=$(TOOLS) go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	touch $@
$(TOOLS)/protoc-gen-go-grpc: $(TOOLS)/.protoc-gen-go-grpc-$(PROTOC_GEN_GO_GRPC_VERSION)
$(TOOLS)/.protoc-gen-go-grpc-$(PROTOC_GEN_GO_GRPC_VERSION):
	GOBIN=$(TOOLS) go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	touch $@

.PHONY: generate
generate: tools ## Regenerate the Go code from proto/.
	$(BUF) generate

.PHONY: check-generate
check-generate: generate ## Fail when the committed generated code is stale.
	@if [ -n "$$(git status --porcelain -- proto)" ]; then \
		echo "generated code is stale: run 'make generate' and commit the result" >&2; \
		git status --short -- proto >&2; git diff --stat -- proto >&2; exit 1; \
	fi

.PHONY: lint
lint: tools ## gofmt, go vet and buf lint.
	@out=$$(gofmt -l $$(git ls-files '*.go') ); if [ -n "$$out" ]; then echo "gofmt would change:" >&2; echo "$$out" >&2; exit 1; fi
	go vet ./...
	$(BUF) lint

.PHONY: test
test: ## Run every test.
	go test $(GO_TEST_FLAGS) ./...

.PHONY: test-race
test-race: ## Run every test under the race detector (recompiles SQLite: slower).
	go test -race $(GO_TEST_FLAGS) ./...

.PHONY: fuzz
fuzz: ## Run each fuzz target in turn for FUZZTIME (default 10s), from its committed corpus.
	@for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t#*:} in $${t%%:*} for $(FUZZTIME)"; \
		go test -run '^$$' -fuzz "^$${t#*:}\$$" -fuzztime $(FUZZTIME) "$${t%%:*}" || exit 1; \
	done
.PHONY: crashtest
crashtest: ## Kill the real server under load and check every acknowledged write (CYCLES=20 SIGTERM_CYCLES=5).
	go build -o bin/bieuquyet-server ./cmd/bieuquyet-server
	go build -o bin/bieuquyet-crashtest ./internal/cmd/bieuquyet-crashtest
	./bin/bieuquyet-crashtest --server bin/bieuquyet-server --cycles $(CYCLES) --sigterm-cycles $(SIGTERM_CYCLES)

.PHONY: build
build: ## Build bin/bieuquyet-server, bin/bieuquyet and the throw-away bin/bieuquyet-testca.
	go build -o bin/bieuquyet-server ./cmd/bieuquyet-server
	go build -o bin/bieuquyet ./cmd/bieuquyet
	go build -o bin/bieuquyet-testca ./internal/cmd/bieuquyet-testca

BENCH_FLAGS ?=

.PHONY: bench
bench: ## End-to-end benchmarks of the real server (issue 7/7); writes docs/benchmarks.md. Run on a quiet machine.
	go run ./internal/cmd/bieuquyet-bench --write docs/benchmarks.md $(BENCH_FLAGS)

.PHONY: bench-quick
bench-quick: ## The same harness with small counts and one run: a smoke test, not a measurement.
	go run ./internal/cmd/bieuquyet-bench --quick $(BENCH_FLAGS)

.PHONY: demo
demo: build ## A poll's whole life in a temporary folder, printing each step (needs pdftoppm).
	internal/demo/demo.sh

.PHONY: run
run: build ## Serve on 127.0.0.1:50051 with ./data/bieuquyet.db.
	./bin/bieuquyet-server

.PHONY: clean
clean: ## Remove built binaries.
	rm -rf bin
