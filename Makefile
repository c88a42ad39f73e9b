# peacepie — two commands: `make run` starts a system, `make test` checks it.
GO    ?= go
BIN   := bin/peacepie
BENCH ?= .

.PHONY: build run test bench bench-pinned clean

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

# The latency between processes with all of them pinned to one CPU (Linux
# taskset), where a loopback round trip does not depend on where the two
# ends land.
bench-pinned:
	taskset -c 0 $(GO) test -run '^$$' -bench 'Benchmark(Link|Host)(Ask|PingPong)$$' -benchtime 20000x -count=1 ./cmd/peacepie/

clean:
	rm -rf bin
