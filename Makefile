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

# A short run of every fuzz target of every package (FUZZTIME each; the
# seed corpora also run in `make test`).
FUZZTIME ?= 20s
fuzz:
	@for pkg in $$(grep -rl '^func Fuzz' --include='*_test.go' internal | xargs -n1 dirname | sort -u); do \
		for t in $$($(GO) test -list 'Fuzz.*' ./$$pkg | grep ^Fuzz); do \
			echo "fuzz $$pkg $$t"; \
			$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 200x ./$$pkg || exit 1; done; done

bench: deps build
	@bash scripts/bench.sh

clean:
	rm -rf bin
