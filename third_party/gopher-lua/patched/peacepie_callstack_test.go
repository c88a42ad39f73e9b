package lua

import (
	"strings"
	"testing"
)

// TestPCallAtFullCallStack: a pcall made when the auto-growing call stack
// (MinimizeStackMemory) is full fails with "stack overflow", and the
// caller goes on with its frames intact. It used to drop the last
// segment's frames (SetSp at a segment boundary) and crash the VM on a
// nil frame ("invalid memory address or nil pointer dereference").
func TestPCallAtFullCallStack(t *testing.T) {
	for _, size := range []int{200, 201, 207, 208} {
		L := NewState(Options{CallStackSize: size, MinimizeStackMemory: true})
		err := L.DoString(`
			local function f() return pcall(f) end
			local res = {pcall(f)}
			assert(#res > 2, "too few results: " .. #res)
			assert(res[#res - 1] == false, "the innermost pcall did not fail")
			assert(string.find(res[#res], "stack overflow"), "unexpected error: " .. tostring(res[#res]))
			for i = 1, #res - 2 do assert(res[i] == true) end
			-- the state still works
			local function g(n) if n == 0 then return 0 end return 1 + g(n - 1) end
			assert(g(50) == 50)
		`)
		L.Close()
		if err != nil {
			t.Errorf("CallStackSize %d: %v", size, err)
		}
	}
}

// TestCallStackOverflowIsALuaError: plain recursion past the call stack
// raises the ordinary "stack overflow" Lua error.
func TestCallStackOverflowIsALuaError(t *testing.T) {
	L := NewState(Options{CallStackSize: 200, MinimizeStackMemory: true})
	defer L.Close()
	err := L.DoString(`local function f() return 1 + f() end; f()`)
	if err == nil || !strings.Contains(err.Error(), "stack overflow") || strings.Contains(err.Error(), "nil pointer") {
		t.Fatalf("err = %v, want a stack overflow", err)
	}
}
