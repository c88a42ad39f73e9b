package lua

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// sampleWhile runs code in a state with a context and a sample hook that
// records the name of the running function, requesting a sample every
// 200 µs from another goroutine; it returns the names seen.
func sampleWhile(t *testing.T, code string, withContext bool) map[string]int {
	t.Helper()
	L := NewState()
	defer L.Close()
	if withContext {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		L.SetContext(ctx)
	}
	seen := map[string]int{}
	L.SetSampleHook(func(L *LState) {
		var names []string
		for i := 0; ; i++ {
			dbg, ok := L.GetStack(i)
			if !ok {
				break
			}
			if _, err := L.GetInfo("n", dbg, LNil); err == nil {
				names = append(names, dbg.Name)
			}
		}
		seen[strings.Join(names, "<")]++
	})
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-time.After(200 * time.Microsecond):
				L.RequestSample()
			}
		}
	}()
	err := L.DoString(code)
	close(done)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	return seen
}

const spinCode = `
local function spin_here(n)
  local x = 0
  for i = 1, n do x = x + i % 7 end
  return x
end
local function caller()
  local t0 = os.clock()
  while os.clock() - t0 < 0.2 do spin_here(10000) end
end
caller()
local co = coroutine.create(function() local t0 = os.clock(); while os.clock() - t0 < 0.1 do spin_here(1000) end end)
coroutine.resume(co)
`

// TestSampleHook: requested samples are taken between instructions, on
// the state's goroutine, in the function that runs (also in a coroutine);
// a state without a context is not sampled.
func TestSampleHook(t *testing.T) {
	seen := sampleWhile(t, spinCode, true)
	var inSpin, inCaller int
	for stack, n := range seen {
		if strings.HasPrefix(stack, "spin_here<caller") {
			inCaller += n
		}
		if strings.HasPrefix(stack, "spin_here") {
			inSpin += n
		}
	}
	if inCaller < 10 || inSpin <= inCaller {
		t.Fatalf("samples in spin_here called by caller: %d, in spin_here in all: %d; want at least 10, and more in all (the coroutine's): %v", inCaller, inSpin, seen)
	}
	if seen := sampleWhile(t, spinCode, false); len(seen) != 0 {
		t.Fatalf("a state without a context was sampled: %v", seen)
	}
}
