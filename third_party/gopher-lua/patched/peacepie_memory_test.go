package lua

import (
	"runtime"
	"strings"
	"testing"
)

// limitedState returns a state bounded to limit bytes, measured by LiveSize.
func limitedState(limit int64) *LState {
	L := NewState(Options{CallStackSize: 200, MinimizeStackMemory: true})
	L.SetMemoryLimit(limit, func() int64 { return L.LiveSize(nil) })
	return L
}

// allocated returns the bytes the Go heap has allocated so far.
func allocated() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// TestMemoryLimit: what a script keeps is bounded; what it lets go is not
// counted; a large allocation is refused before it is made.
func TestMemoryLimit(t *testing.T) {
	const limit = 8 << 20
	tests := []struct {
		name, code string
		refused    bool
		maxAlloc   uint64 // bytes the Go heap may allocate meanwhile
	}{
		{"rep of 1 GiB", `local s = string.rep("x", 2^30)`, true, 64 << 20},
		{"rep of 2^30 copies of a long string", `local s = string.rep(string.rep("x", 1000), 2^30)`, true, 64 << 20},
		{"kept strings", `t = {} for i = 1, 1e6 do t[i] = string.rep("x", 100) .. i end`, true, 256 << 20},
		{"kept tables", `t = {} for i = 1, 1e6 do t[i] = {i, i} end`, true, 512 << 20},
		{"kept closures", `t = {} for i = 1, 1e6 do t[i] = function() return i end end`, true, 512 << 20},
		{"kept string keys", `t = {} for i = 1, 1e6 do t["k" .. i] = true end`, true, 512 << 20},
		{"doubling concat", `local s = "x" for i = 1, 40 do s = s .. s end`, true, 64 << 20},
		{"table.concat", `local t = {} for i = 1, 200 do t[i] = string.rep("x", 1e5) end; local s = table.concat(t)`, true, 64 << 20},
		{"gsub with a long replacement", `local s = string.gsub(string.rep("x", 1e4), "x", string.rep("y", 1e4))`, true, 64 << 20},
		{"gsub with many matches", `local s = string.gsub(string.rep("x", 1e6), "", "")`, true, 256 << 20},
		{"upper of a kept string", `a = string.rep("x", 5e6); b = string.upper(a)`, true, 64 << 20},
		{"coroutines", `t = {} for i = 1, 1e5 do t[i] = coroutine.create(function() end) end`, true, 1 << 30},
		{"garbage strings", `for i = 1, 1e5 do local s = string.rep("x", 1000) .. i end`, false, 0},
		{"garbage tables", `for i = 1, 1e6 do local t = {i, i, x = i} end`, false, 0},
		{"kept below the limit", `t = {} for i = 1, 1e4 do t[i] = string.rep("x", 100) .. i end`, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			L := limitedState(limit)
			defer L.Close()
			before := allocated()
			err := L.DoString(tt.code)
			grown := allocated() - before
			if tt.refused {
				if err == nil || !strings.Contains(err.Error(), "memory limit of 8 MiB exceeded") {
					t.Fatalf("err = %v, want the memory error", err)
				}
				if grown > tt.maxAlloc {
					t.Errorf("the Go heap allocated %d MiB meanwhile, more than %d MiB", grown>>20, tt.maxAlloc>>20)
				}
				if L.MemoryRefusals() == 0 {
					t.Error("no refusal counted")
				}
			} else if err != nil {
				t.Fatalf("err = %v", err)
			}
			if live := L.LiveSize(nil); live > limit+limit/2 {
				t.Errorf("live size %d MiB after the script, limit %d MiB", live>>20, limit>>20)
			}
			// The state still works.
			if err := L.DoString(`t = nil; local x = {1, 2, 3}; assert(#x == 3)`); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestMemoryErrorIsCatchable: a script may catch the memory error and go on.
func TestMemoryErrorIsCatchable(t *testing.T) {
	L := limitedState(4 << 20)
	defer L.Close()
	if err := L.DoString(`
		local ok, err = pcall(string.rep, "x", 2^30)
		assert(not ok and string.find(err, "memory limit of 4 MiB exceeded"), tostring(err))
		local s = string.rep("x", 1000)
		assert(#s == 1000)
	`); err != nil {
		t.Fatal(err)
	}
}

// TestNoMemoryLimit: without a limit nothing is refused and nothing is
// measured.
func TestNoMemoryLimit(t *testing.T) {
	L := NewState()
	defer L.Close()
	L.SetMemoryLimit(0, nil)
	if err := L.DoString(`t = {} for i = 1, 1e5 do t[i] = string.rep("x", 100) end`); err != nil {
		t.Fatal(err)
	}
}

// TestFormatWidth: widths and precisions have at most two digits, as in Lua.
func TestFormatWidth(t *testing.T) {
	L := NewState()
	defer L.Close()
	if err := L.DoString(`
		assert(string.format("%5d|%-3s|%.2f|%%|%02x", 42, "a", 1.5, 255) == "   42|a  |1.50|%|ff")
		assert(not pcall(string.format, "%999d", 1))
		assert(not pcall(string.format, "%.100f", 1))
	`); err != nil {
		t.Fatal(err)
	}
}

// TestGsubReplacesInOnePass: gsub's result is what it was, and many
// matches no longer take quadratic time.
func TestGsubReplacesInOnePass(t *testing.T) {
	L := NewState()
	defer L.Close()
	if err := L.DoString(`
		assert(string.gsub("hello world", "o", "0") == "hell0 w0rld")
		assert(string.gsub("abc", "", "-") == "-a-b-c-")
		assert(string.gsub("hello world", "(o)", "[%1]") == "hell[o] w[o]rld")
		assert(string.gsub("abc", "%w", {a = "1", c = false}) == "1bc")
		assert(string.gsub("abc", "%w", function(c) return c:upper() end) == "ABC")
		assert(select(2, string.gsub("aaa", "a", "b", 2)) == 2)
		local s = string.gsub(string.rep("x", 2e5), "x", "yy")
		assert(#s == 4e5)
	`); err != nil {
		t.Fatal(err)
	}
}
