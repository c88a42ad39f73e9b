# peacepie — two commands: `make run` starts a system, `make test` checks it.
GO    ?= go
BIN   := bin/peacepie
BENCH ?= .

# gopher-lua with our patches (third_party/gopher-lua/README.md) is made
# from the verified upstream module before anything is built.
LUA   := third_party/gopher-lua

.PHONY: build patched run test test-patched test-lua soak bench cbaseline bench-pinned bench-many bench-failover clean

build: patched
	$(GO) build -o $(BIN) ./cmd/peacepie

# Makes $(LUA)/patched; nothing is redone when it is up to date.
patched:
	$(GO) run ./internal/patchmod $(LUA)

# Starts peacepie with the default config (./config is made on first run).
run: build
	./$(BIN) run

test: patched
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m ./...
	$(MAKE) --no-print-directory test-patched
	$(MAKE) --no-print-directory test-lua

# The Lua tests of the built-in packages, as an author runs a package's.
test-lua: build
	./$(BIN) test examples/peacepie_example actors/peacepie_std

# The patched gopher-lua is exactly upstream + our patches, and passes
# upstream's own test suite and ours (its TestLocalVarFree reports a data
# race under -race upstream too, so this suite runs without it).
test-patched: patched
	$(GO) run ./internal/patchmod -check $(LUA)
	cd $(LUA)/patched && $(GO) test -count=1 .

# About a minute of mixed traffic between Lua actors in three processes
# while strangers attack the links port and hostile actors run
# (cmd/peacepie/soak_test.go; PEACEPIE_SOAK=20s for a shorter one).
soak: patched
	$(GO) test -tags soak -run '^TestSoak$$' -count=1 -timeout 10m -v ./cmd/peacepie/

# Benchmarks of the real message path: Lua actor to Lua actor. First, the
# machine's baseline for an in-process ask: two C threads passing a token
# through condition variables, as a C actor system's workers do (skipped,
# with a note, where there is no C compiler).
bench: patched cbaseline
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -count=1 ./luart/ ./host/ ./net/link/ ./cmd/peacepie/

CC ?= cc
cbaseline:
	@if command -v $(CC) >/dev/null 2>&1; then \
		mkdir -p bin && $(CC) -O2 -pthread -o bin/cpingpong internal/cbaseline/pingpong.c && ./bin/cpingpong; \
	else echo "no C compiler ($(CC)): the C threads' baseline is left out"; fi

# The latency between processes with all of them pinned to one CPU (Linux
# taskset), where a loopback round trip does not depend on where the two
# ends land.
bench-pinned: patched
	taskset -c 0 $(GO) test -run '^$$' -bench 'Benchmark(Link|Host|Child|HostChild|HostsChild)(Ask|PingPong)$$|BenchmarkTCPEcho$$' -benchtime 20000x -count=1 ./cmd/peacepie/

# A million hibernating actors in one process, and the ask's tail with
# 0, 10,000 and 100,000 idle actors resident, beside the machine's
# baselines (Go's channel round trip, the C threads').
bench-many: patched cbaseline
	$(GO) test -run '^$$' -bench 'BenchmarkMillionActors|BenchmarkLuaAskIdle|BenchmarkGoChanRoundTrip' -count=1 -timeout 60m ./luart/

# The time from the first host's kill -9 to a create_actor that succeeds on
# a survivor, five times (the median is reported), the cost of a directory
# write among three hosts, and of a commit of three replicas in one process.
bench-failover: patched
	$(GO) test -run '^$$' -bench 'BenchmarkFailover$$' -benchtime 5x -count=1 ./cmd/peacepie/
	$(GO) test -run '^$$' -bench 'BenchmarkCreateActorAmongHosts' -benchtime 2000x -count=1 ./cmd/peacepie/
	$(GO) test -run '^$$' -bench 'BenchmarkPropose$$' -count=1 ./cluster/raftdir/

clean:
	rm -rf bin
