# peacepie — two commands: `make run` starts a system, `make test` checks it.
GO    ?= go
BIN   := bin/peacepie
BENCH ?= .

.PHONY: build run test bench clean

build:
	$(GO) build -o $(BIN) ./cmd/peacepie

# Starts peacepie with the default config (./config is made on first run).
run: build
	./$(BIN) run

test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m ./...

# Benchmarks of the real message path: Lua actor to Lua actor.
bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -count=1 ./luart/ ./host/ ./net/link/ ./cmd/peacepie/

clean:
	rm -rf bin
