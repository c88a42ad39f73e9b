package luart

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/peacepie/peacepie/host"
)

// TestRawBodyMatchesFromLua: a table written straight to JSON is byte for
// byte what fromLua then host.AppendValue write, and a table fromLua
// refuses is refused too.
func TestRawBodyMatchesFromLua(t *testing.T) {
	library.once.Do(initLibrary)
	b := &actor{L: newSandbox(), arrayMT: library.arrayMT, null: library.null}
	defer b.L.Close()
	b.L.SetGlobal("null", b.null)
	b.L.SetGlobal("array", b.L.NewFunction(func(L *lua.LState) int {
		t := L.OptTable(1, L.NewTable())
		t.Metatable = b.arrayMT
		L.Push(t)
		return 1
	}))
	cases := []string{
		`{}`, `array()`, `{n = 1}`, `{n = 1.5, s = "x"}`, `{1, 2, 3}`, `array({1, "a", true})`,
		`{b = 1, a = 2, c = {z = 1, y = {1, 2, {x = null}}}}`,
		`{s = "q\"uo\\te\n\t\1 é", ["\255bad"] = 1}`,
		`{big = 2^63, neg = -2^62, tiny = 1e-300, f = 1/3, i = 1e15, j = 123456789012}`,
		`{k1=1,k2=2,k3=3,k4=4,k5=5,k6=6,k7=7,k8=8,k9=9,k10=10,a=0}`,
		`array({null, null})`, `{flag = false, t = true}`, `{[1] = "a", [3] = "c"}`,
		`{nan = 0/0}`, `{inf = 1/0}`, `{f = print}`, `{[true] = 1}`, `{1, 2, x = 3}`,
		`(function() local t = {} t.self = t return t end)()`,
		`{co = coroutine.create(print)}`,
	}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 300; i++ {
		cases = append(cases, randomTable(rng, 0))
	}
	for _, src := range cases {
		if err := b.L.DoString("v = " + src); err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		tbl := b.L.GetGlobal("v").(*lua.LTable)
		want, errWant := b.fromLua(tbl, "body")
		var wantJSON []byte
		if errWant == nil {
			wantJSON, errWant = host.AppendValue(nil, want)
		}
		got, ok := b.appendTableJSON(nil, tbl, 1)
		if ok != (errWant == nil) {
			t.Fatalf("%s: written %v (%s), fromLua error %v", src, ok, got, errWant)
		}
		if ok && string(got) != string(wantJSON) {
			t.Fatalf("%s:\n raw  %s\n want %s", src, got, wantJSON)
		}
		if len(b.fields) != 0 {
			t.Fatalf("%s: %d fields left on the stack", src, len(b.fields))
		}
	}
}

// randomTable writes a random Lua table constructor.
func randomTable(rng *rand.Rand, depth int) string {
	var sb strings.Builder
	n := rng.Intn(12)
	arr := rng.Intn(3) == 0
	if arr {
		sb.WriteString("array(")
	}
	sb.WriteString("{")
	for i := 0; i < n; i++ {
		if !arr {
			fmt.Fprintf(&sb, "[%q] = ", string(rune('a'+rng.Intn(26)))+fmt.Sprint(rng.Intn(5)))
		}
		switch k := rng.Intn(7); {
		case k == 0 && depth < 4:
			sb.WriteString(randomTable(rng, depth+1))
		case k == 1:
			fmt.Fprintf(&sb, "%q", strings.Repeat("é\"x", rng.Intn(3)))
		case k == 2:
			fmt.Fprintf(&sb, "%d", rng.Int63n(1<<40)-(1<<39))
		case k == 3:
			fmt.Fprintf(&sb, "%g", rng.NormFloat64()*1e6)
		case k == 4:
			sb.WriteString("null")
		default:
			fmt.Fprint(&sb, rng.Intn(2) == 0)
		}
		sb.WriteString(", ")
	}
	sb.WriteString("}")
	if arr {
		sb.WriteString(")")
	}
	return sb.String()
}
