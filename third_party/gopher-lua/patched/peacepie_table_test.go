package lua

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"unsafe"
)

// Tests of peacepie's patch: string keys in a slice while a table has few
// of them (sfields), then in a map (strdict).

func TestSmallStringKeysGrowAndShrink(t *testing.T) {
	for _, hcap := range []int{0, 1, 2, 3, smallStrKeys + 1} {
		for _, n := range []int{0, 1, 2, 3, smallStrKeys - 1, smallStrKeys, smallStrKeys + 1, 3 * smallStrKeys} {
			t.Run(fmt.Sprintf("hcap=%d/n=%d", hcap, n), func(t *testing.T) { testStringKeys(t, newLTable(0, hcap), n) })
		}
	}
}

// TestInlineStringKeys: the first two string keys live in the table
// itself; a third moves them out, and the inline array keeps no value.
func TestInlineStringKeys(t *testing.T) {
	tb := newLTable(0, 0)
	tb.RawSetString("a", LString("1"))
	tb.RawSetString("b", LString("2"))
	if &tb.sfields[0] != &tb.inl[0] {
		t.Fatal("two string keys are not inline")
	}
	tb.RawSetString("c", LString("3"))
	if &tb.sfields[0] == &tb.inl[0] || tb.inl != [len(tb.inl)]strField{} {
		t.Fatalf("a third key left the inline array in use or holding %v", tb.inl)
	}
	for k, want := range map[string]string{"a": "1", "b": "2", "c": "3"} {
		if v := tb.RawGetString(k); v != LString(want) {
			t.Fatalf("%s = %v", k, v)
		}
	}
}

func testStringKeys(t *testing.T, tb *LTable, n int) {
	{
		for i := 0; i < n; i++ {
			tb.RawSetString(fmt.Sprintf("k%d", i), LNumber(i))
		}
		for i := 0; i < n; i++ {
			if v := tb.RawGetString(fmt.Sprintf("k%d", i)); v != LNumber(i) {
				t.Fatalf("n=%d: k%d = %v", n, i, v)
			}
			if v := tb.RawGet(LString(fmt.Sprintf("k%d", i))); v != LNumber(i) {
				t.Fatalf("n=%d: RawGet k%d = %v", n, i, v)
			}
		}
		if v := tb.RawGetString("missing"); v != LNil {
			t.Fatalf("n=%d: a missing key is %v", n, v)
		}
		// Every key once with pairs (next) and ForEach.
		seen := map[string]int{}
		for k, v := tb.Next(LNil); k != LNil; k, v = tb.Next(k) {
			seen[k.String()]++
			if v == LNil {
				t.Fatalf("n=%d: next gave a nil value for %v", n, k)
			}
		}
		count := 0
		tb.ForEach(func(LValue, LValue) { count++ })
		if len(seen) != n || count != n {
			t.Fatalf("n=%d: next saw %d keys, ForEach %d", n, len(seen), count)
		}
		// Delete every other key; the rest stay.
		for i := 0; i < n; i += 2 {
			tb.RawSetString(fmt.Sprintf("k%d", i), LNil)
		}
		for i := 0; i < n; i++ {
			want := LValue(LNumber(i))
			if i%2 == 0 {
				want = LNil
			}
			if v := tb.RawGetString(fmt.Sprintf("k%d", i)); v != want {
				t.Fatalf("n=%d: after deletes k%d = %v, want %v", n, i, v, want)
			}
		}
	}
}

// TestSmallStringKeysInLua runs Lua that builds, changes and walks tables
// around the size where the slice becomes a map, and compares with what a
// table of the same keys must hold.
func TestSmallStringKeysInLua(t *testing.T) {
	L := NewState()
	defer L.Close()
	err := L.DoString(`
local function keys(t)
  local out = {}
  for k, v in pairs(t) do out[#out + 1] = k .. "=" .. tostring(v) end
  table.sort(out)
  return table.concat(out, ",")
end
results = {}
for n = 0, 20 do
  local t = {}
  for i = 1, n do t["k" .. i] = i end
  -- delete while iterating (allowed in Lua: setting existing fields to nil)
  for k, v in pairs(t) do if v % 3 == 0 then t[k] = nil end end
  -- put one back and add a new one
  if n >= 3 then t.k3 = "back" end
  t.extra = true
  results[#results + 1] = keys(t)
end
literal = keys({a = 1, b = 2, c = 3, d = 4, e = 5, f = 6, g = 7, h = 8, i = 9, j = 10})
`)
	if err != nil {
		t.Fatal(err)
	}
	res := L.GetGlobal("results").(*LTable)
	for n := 0; n <= 20; n++ {
		var want []string
		for i := 1; i <= n; i++ {
			switch {
			case i == 3:
				want = append(want, "k3=back")
			case i%3 != 0:
				want = append(want, fmt.Sprintf("k%d=%d", i, i))
			}
		}
		want = append(want, "extra=true")
		sort.Strings(want)
		if got := res.RawGetInt(n + 1).String(); got != strings.Join(want, ",") {
			t.Errorf("n=%d: %s\nwant %s", n, got, strings.Join(want, ","))
		}
	}
	if got := L.GetGlobal("literal").String(); got != "a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,i=9,j=10" {
		t.Errorf("a table literal of 10 fields: %s", got)
	}
}

// TestForEachString: the string keys with values, as ForEach gives them,
// for tables of 0 to 12 string keys (slice and map) with some set to nil;
// a key of another type is returned and nothing is walked.
func TestForEachString(t *testing.T) {
	for n := 0; n <= 12; n++ {
		tb := newLTable(0, 0)
		for i := 1; i <= n; i++ {
			tb.RawSetString(fmt.Sprintf("k%d", i), LNumber(i))
		}
		if n > 0 {
			tb.RawSetString("k1", LNil)
		}
		var want, got []string
		tb.ForEach(func(k, v LValue) { want = append(want, k.String()+"="+v.String()) })
		other := tb.ForEachString(func(k string, v LValue) { got = append(got, k+"="+v.String()) })
		sort.Strings(want)
		sort.Strings(got)
		if other != LNil || strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("n=%d: %v %v, want %v", n, other, got, want)
		}
		if len(got) > tb.StringKeys() {
			t.Errorf("n=%d: %d calls, StringKeys %d", n, len(got), tb.StringKeys())
		}
	}
	for _, c := range []struct {
		set  func(tb *LTable)
		want LValue
	}{
		{func(tb *LTable) { tb.RawSetInt(1, LTrue) }, LNumber(1)},
		{func(tb *LTable) { tb.RawSet(LNumber(2.5), LTrue) }, LNumber(2.5)},
		{func(tb *LTable) { tb.RawSet(LTrue, LTrue) }, LTrue},
	} {
		tb := newLTable(0, 0)
		tb.RawSetString("a", LTrue)
		c.set(tb)
		called := false
		if got := tb.ForEachString(func(string, LValue) { called = true }); got != c.want || called {
			t.Errorf("got %v (walked: %v), want %v", got, called, c.want)
		}
	}
	// A key of another type set to nil does not count.
	tb := newLTable(0, 0)
	tb.RawSetString("a", LTrue)
	tb.RawSetInt(1, LTrue)
	tb.RawSetInt(1, LNil)
	tb.RawSet(LTrue, LTrue)
	tb.RawSet(LTrue, LNil)
	n := 0
	if got := tb.ForEachString(func(string, LValue) { n++ }); got != LNil || n != 1 {
		t.Errorf("nil-valued other keys: %v, %d calls", got, n)
	}
}

// TestTableRest: a table of string keys and array slots has no tableRest;
// other keys and next make it, and everything reads the same as before.
func TestTableRest(t *testing.T) {
	if got := unsafe.Sizeof(LTable{}); got != memTable {
		t.Errorf("an LTable is %d bytes, memTable says %d", got, memTable)
	}
	if got := unsafe.Sizeof(tableRest{}); got > memTableRest {
		t.Errorf("a tableRest is %d bytes, memTableRest says %d", got, memTableRest)
	}
	tb := newLTable(4, 2)
	tb.RawSetString("a", LNumber(1))
	tb.RawSetInt(1, LTrue)
	tb.RawSet(LTrue, LNil) // deleting what is not there makes nothing
	if tb.tableRest != nil {
		t.Fatal("a table of strings and array slots has a tableRest")
	}
	if v := tb.RawGet(LTrue); v != LNil {
		t.Errorf("RawGet(true) = %v", v)
	}
	if v := tb.RawGetH(LNumber(2.5)); v != LNil {
		t.Errorf("RawGetH(2.5) = %v", v)
	}
	if k, v := tb.Next(LString("gone")); k != LNil || v != LNil {
		t.Errorf("Next(a key it never had) = %v, %v", k, v)
	}
	tb.RawSet(LTrue, LString("yes"))
	tb.RawSet(LNumber(2.5), LString("half"))
	if tb.tableRest == nil || tb.RawGet(LTrue) != LString("yes") || tb.RawGetH(LNumber(2.5)) != LString("half") {
		t.Fatal("keys of other types are not kept")
	}
	seen := map[string]string{}
	for k, v := tb.Next(LNil); k != LNil; k, v = tb.Next(k) {
		seen[k.String()] = v.String()
	}
	if fmt.Sprint(seen) != "map[1:true 2.5:half a:1 true:yes]" {
		t.Errorf("next walked %v", seen)
	}
	// A table of strings only, walked with next, gets the index.
	s := newLTable(0, 0)
	s.RawSetString("x", LNumber(1))
	if k, _ := s.Next(LNil); k != LString("x") || s.tableRest == nil || s.k2i == nil {
		t.Errorf("next over a table of strings: %v, rest %v", k, s.tableRest)
	}
	s.RawSetString("y", LNumber(2)) // the index follows a new key
	if k, _ := s.Next(LString("x")); k != LString("y") {
		t.Errorf("next after x = %v, want y", k)
	}
}
