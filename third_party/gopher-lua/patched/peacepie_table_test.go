package lua

import (
	"fmt"
	"sort"
	"strings"
	"testing"
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
