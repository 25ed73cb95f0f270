# Redoubt — build, test and benchmark.
#   make test    install what the tests need (as root, through apt), vet, go test -race ./...
#   make bench   redis-benchmark against redis-server and redoubt, side by side
GO ?= go

.PHONY: all build test deps vet bench fuzz clean

all: build

build:
	$(GO) build -o bin/redoubt ./cmd/redoubt

deps:
	@bash scripts/deps.sh

vet:
	$(GO) vet ./...

test: deps vet
	$(GO) test -race -count=1 -timeout 20m ./...

# A short run of every fuzz target (the seed corpus also runs in `make test`).
fuzz:
	@for t in $$($(GO) test -list 'Fuzz.*' ./internal/resp | grep ^Fuzz); do \
		$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime 20s ./internal/resp || exit 1; done

bench: deps build
	@bash scripts/bench.sh

clean:
	rm -rf bin
