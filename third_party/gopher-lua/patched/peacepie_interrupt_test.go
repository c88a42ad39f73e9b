package lua

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestPatternIsInterrupted: a pattern with exponential backtracking (it
// ran for 38 s) stops soon after the state's context is done, with the
// error the VM raises for a done context, and the state works afterwards.
func TestPatternIsInterrupted(t *testing.T) {
	for _, code := range []string{
		`string.find(string.rep('a', 120), string.rep('a*', 4) .. 'b')`,
		`string.match(string.rep('a', 120), string.rep('a*', 4) .. 'b')`,
		`string.gsub(string.rep('a', 120), string.rep('a*', 4) .. 'b', 'x')`,
		`for m in string.gmatch(string.rep('a', 120), string.rep('a*', 4) .. 'b') do end`,
		`string.find(string.rep('(', 200000), '%b()')`,
	} {
		t.Run(code, func(t *testing.T) {
			L := NewState()
			defer L.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			L.SetContext(ctx)
			start := time.Now()
			err := L.DoString(code)
			if err == nil || !strings.Contains(err.Error(), context.DeadlineExceeded.Error()) {
				t.Fatalf("err = %v, want the context's error", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("interrupted only after %s", d)
			}
			L.RemoveContext()
			if err := L.DoString(`assert(string.find("abc", "b") == 2)`); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestRepIsInterrupted: string.rep checks the context between copies.
func TestRepIsInterrupted(t *testing.T) {
	L := NewState()
	defer L.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	L.SetContext(ctx)
	err := L.DoString(`local s = string.rep("x", 1)`) // one copy: no check needed
	if err == nil {
		t.Fatal("the VM ran with a done context")
	}
	L.RemoveContext()
	if err := L.DoString(`assert(string.rep("ab", 3) == "ababab"); assert(string.rep("ab", 0) == ""); assert(string.rep("", 1e9) == "")
		assert(not pcall(string.rep, "ab", 2^62))`); err != nil {
		t.Fatal(err)
	}
	// called from Go with a done context: the first check raises
	L.SetContext(ctx)
	L.Push(L.GetField(L.GetField(L.G.Global, "string"), "rep"))
	L.Push(LString("x"))
	L.Push(LNumber(1 << 20))
	if err := L.PCall(2, 1, nil); err == nil || !strings.Contains(err.Error(), context.Canceled.Error()) {
		t.Fatalf("err = %v, want the context's error", err)
	}
}

// TestSortIsInterrupted: table.sort of a large table, which runs in Go
// without a comparator, checks the context every 1024 comparisons.
func TestSortIsInterrupted(t *testing.T) {
	L := NewState()
	defer L.Close()
	if err := L.DoString(`t = {} for i = 1, 1e6 do t[i] = (i * 7919) % 1e6 end`); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	L.SetContext(ctx)
	fn := L.GetField(L.GetField(L.G.Global, "table"), "sort")
	cancel()
	L.Push(fn)
	L.Push(L.GetGlobal("t"))
	if err := L.PCall(1, 0, nil); err == nil || !strings.Contains(err.Error(), context.Canceled.Error()) {
		t.Fatalf("err = %v, want the context's error", err)
	}
	L.RemoveContext()
	if err := L.DoString(`table.sort(t) for i = 2, #t do assert(t[i-1] <= t[i]) end
		local u = {3, 1, 2}; table.sort(u, function(a, b) return a > b end); assert(u[1] == 3 and u[3] == 1)`); err != nil {
		t.Fatal(err)
	}
}
