# tandem — build, test and run targets. `make help` lists them.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME ?= 4s

.PHONY: help build test lint unit fuzz deps run demo bench rpm soak clean

help:
	@echo "make demo   failover demo in network namespaces (root)"
	@echo "make test   install test dependencies (root + apt), lint, race tests, short fuzz"
	@echo "make build  static binary in bin/tandem"
	@echo "make run    run the quickstart config with a demo backend"
	@echo "make bench  tandem vs HAProxy side by side"
	@echo "make rpm    CentOS 7 RPM in dist/"
	@echo "make soak   bounded soak: load, reloads, flapping servers (SOAK_DURATION=2m)"

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/tandem ./cmd/tandem

deps:
	@bash scripts/install-deps.sh

test: deps lint unit fuzz

lint:
	@echo "== gofmt"; out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@echo "== go vet"; $(GO) vet ./...
	@echo "== staticcheck"; $(GO) run $(STATICCHECK) ./...
	@echo "== go mod tidy -diff"; $(GO) mod tidy -diff

unit: build
	TANDEM_BIN=$(CURDIR)/bin/tandem $(GO) test -race -timeout 12m ./...

# Each fuzz target runs briefly; `make fuzz FUZZTIME=5m` for a longer run.
fuzz:
	@bash scripts/fuzz.sh $(FUZZTIME)

run: build
	@bash scripts/quickstart.sh

# The failover demo in network namespaces (root); KEEP=1 leaves the lab up.
demo: build
	@CGO_ENABLED=0 $(GO) build -o bin/demoweb ./cmd/demoweb
	$(GO) run ./vagrant/demo/cmd/demo $(if $(KEEP),-keep)

# tandem and HAProxy side by side (bench/README.md); BENCH_DURATION, BENCH_ROUNDS shorten it.
bench: build
	bash bench/run.sh

# dist/tandem-VERSION-1.el7.x86_64.rpm (xz payload, for CentOS 7).
rpm: build
	$(GO) run ./packaging/cmd/mkrpm -bin bin/tandem -version '$(VERSION)' -out dist

# Bounded soak on loopback (internal/soak): SOAK_DURATION=2m by default.
soak: build
	TANDEM_BIN=$(CURDIR)/bin/tandem $(GO) run ./internal/soak

clean:
	rm -rf bin dist out
