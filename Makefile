# raid-settle: build, test, lint and demo. Every target that needs a Debian
# package installs it first (make deps), so each works as root on a fresh
# Debian machine with Go.

SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
OUT := _out
TOOLS := $(CURDIR)/.cache/bin
STATICCHECK_VERSION := v0.8.2
FUZZTIME ?= 20s
ARCHES := amd64 arm64

# Debian packages the tests and the demo run: the real disk tools, and a
# headless Chromium for certify's HTML report (internal/testenv marks the
# tests that need them).
DEB_PACKAGES := xfsprogs gdisk cryptsetup-bin chromium
DEB_TOOLS := mkfs.xfs xfs_db xfs_repair sgdisk cryptsetup chromium

.PHONY: all help deps build build-all unit test lint fuzz bench demo demo-verify vendor clean

all: lint test build

## help: list the targets and what each does
help:
	@awk -F': ' '/^## [a-z0-9-]+: / { sub(/^## /, ""); t = $$1; sub(/^[^:]*: /, ""); printf "  %-14s %s\n", t, $$0 }' $(MAKEFILE_LIST)

## deps: install the Debian packages the tests need, if any is missing
deps:
	@command -v $(GO) >/dev/null || { echo "Go is required (https://go.dev/dl/)"; exit 1; }
	@missing=0; for t in $(DEB_TOOLS); do command -v $$t >/dev/null || PATH=$$PATH:/usr/sbin:/sbin command -v $$t >/dev/null || missing=1; done; \
	if [ $$missing = 1 ]; then \
		echo "installing $(DEB_PACKAGES)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DEB_PACKAGES) >/dev/null; \
	fi

## build: the workstation build for this machine: every command, diagnose and certify included
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(OUT)/raid-settle ./cmd/raid-settle

## build-all: the node build (-tags node: gate, verify, replay; what the extension ships) for every architecture
build-all:
	@for a in $(ARCHES); do \
		CGO_ENABLED=0 GOOS=linux GOARCH=$$a $(GO) build -tags node -trimpath -ldflags '$(LDFLAGS)' -o $(OUT)/linux-$$a/raid-settle ./cmd/raid-settle || exit 1; \
	done

# Every time in the extension: SOURCE_DATE_EPOCH if set, else the commit time.
EXTENSION_EPOCH ?= $(or $(SOURCE_DATE_EPOCH),$(shell git log -1 --format=%ct 2>/dev/null),0)

# PROFILES, when set, is a directory of controller profiles (certify's
# output) to ship in the extension.
PROFILES ?=

.PHONY: extension
## extension: the Talos system extension for every architecture, in $(OUT)/extension: <arch>/ trees, raid-settle-<arch>.tar, oci/ (PROFILES=DIR ships the profiles in DIR)
extension: build-all
	$(GO) run ./extension/cmd/mkextension -version '$(VERSION)' -epoch '$(EXTENSION_EPOCH)' \
		-manifest manifest.yaml -bin '$(OUT)/linux-{arch}/raid-settle' -arch '$(ARCHES)' -out $(OUT)/extension \
		$(if $(PROFILES),-profiles '$(PROFILES)')

## unit: the tests that need only Go (go test -short): no root, network or apt; those that need tools, root or a browser skip and say so
unit:
	$(GO) test -short ./...

## test: every test, after make deps; a test whose tool, root or browser is missing fails (run as root)
test: deps
	PATH=$$PATH:/usr/sbin:/sbin $(GO) test -count=1 ./...

$(TOOLS)/staticcheck:
	GOBIN=$(TOOLS) GOFLAGS= $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

## lint: gofmt, go vet and staticcheck
lint: $(TOOLS)/staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^vendor/')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags node ./cmd/raid-settle
	$(TOOLS)/staticcheck ./...

## fuzz: run each fuzz target for FUZZTIME
fuzz: deps
	@for pkg in $$($(GO) list ./... ); do \
		for f in $$($(GO) test -list 'Fuzz.*' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; \
			PATH=$$PATH:/usr/sbin:/sbin $(GO) test -run XXX -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

## bench: every benchmark
bench: deps
	PATH=$$PATH:/usr/sbin:/sbin $(GO) test -run XXX -bench . -benchmem ./...

## demo: the main job, side by side: a real kernel and udevd in QEMU, a STATE disk shown by its RAID controller 20 s late, booted without and with raid-settle
demo: e2e-demo

## demo-verify: build Talos-like disk images and show what verify says of each
demo-verify: deps build
	PATH=$$PATH:/usr/sbin:/sbin ./scripts/demo-verify.sh $(OUT)/raid-settle $(OUT)/demo

# End-to-end harness (e2e/README.md): E2E_FLAGS passes options, for example
# E2E_FLAGS='-only 2-,4-' or E2E_FLAGS='-parallel 1'.
E2E_FLAGS ?=

.PHONY: e2e e2e-results e2e-demo e2e-arm64
## e2e: boot Debian's kernel and udevd in QEMU with the extension against emulated MegaRAID controllers, every scenario with and without raid-settle; prints the table
e2e: extension
	$(GO) run ./e2e/cmd/e2e matrix $(E2E_FLAGS)

E2E_ARM64_FLAGS ?=

## e2e-arm64: boot the arm64 extension on QEMU's virt machine under TCG with Debian's arm64 kernel and udevd: a megasas whose STATE volume shows late, without and with raid-settle (E2E_ARM64_FLAGS passes options)
e2e-arm64: extension
	$(GO) run ./e2e/cmd/e2e matrix -arch arm64 $(E2E_ARM64_FLAGS)

# The figures in e2e/RESULTS.md come from one boot at a time: two guests
# sharing two cores measure each other more than the gate.
E2E_RESULTS_FLAGS ?= -parallel 1

## e2e-results: the e2e matrix, one boot at a time, written to e2e/RESULTS.md with the commit it ran on
e2e-results: extension
	$(GO) run ./e2e/cmd/e2e results $(E2E_RESULTS_FLAGS) $(E2E_FLAGS)

## e2e-demo: a STATE disk shown by its RAID controller 20 s after the driver loaded, booted without and with raid-settle, side by side
e2e-demo: extension
	$(GO) run ./e2e/cmd/e2e demo $(E2E_FLAGS)

## vendor: refresh vendor/ after a go.mod change
vendor:
	GOFLAGS= $(GO) mod tidy
	GOFLAGS= $(GO) mod vendor

clean:
	rm -rf $(OUT)
