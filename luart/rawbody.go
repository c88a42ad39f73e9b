package luart

import (
	"math"
	"strconv"

	lua "github.com/yuin/gopher-lua"

	"github.com/peacepie/peacepie/host"
)

// sendBody is checkBody for a message to `to`. A table bound for an actor
// of another process is written as JSON at once (host.RawJSON), since the
// link would write it so: the host.Object in between is skipped. It is
// exactly what fromLua, then host.AppendValue, would write, and a table
// fromLua refuses gets fromLua's error.
func (b *actor) sendBody(L *lua.LState, n int, to host.Address) any {
	t, ok := L.Get(n).(*lua.LTable)
	if !ok || to.Entity == "" || to.Reply != 0 || b.host.IsHere(to.Entity) {
		return b.checkBody(L, n)
	}
	b.tables = 0
	buf, ok := b.appendTableJSON(make([]byte, 0, 64), t, 1)
	if len(buf) > host.MaxBodyBytes {
		ok = false
	}
	if !ok {
		return b.checkBody(L, n)
	}
	return host.RawJSON(buf)
}

// field is a key and value of a table being written.
type field struct {
	key string
	v   lua.LValue
}

// appendJSON appends v as fromLua then host.AppendValue would write it;
// ok is false for anything fromLua refuses.
func (b *actor) appendJSON(buf []byte, v lua.LValue, depth int) ([]byte, bool) {
	switch x := v.(type) {
	case lua.LString:
		if len(buf)+len(x) > host.MaxBodyBytes {
			return buf, false // fromLua says why
		}
		return host.AppendString(buf, string(x)), true
	case lua.LNumber:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return buf, false
		}
		if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
			return strconv.AppendInt(buf, int64(f), 10), true
		}
		buf, err := host.AppendValue(buf, f)
		return buf, err == nil
	case lua.LBool:
		return strconv.AppendBool(buf, bool(x)), true
	case *lua.LTable:
		if depth >= maxDepth {
			return buf, false
		}
		if b.tables++; b.tables > maxTables {
			return buf, false
		}
		return b.appendTableJSON(buf, x, depth+1)
	case *lua.LUserData:
		if v == b.null {
			return append(buf, "null"...), true
		}
	case *lua.LNilType:
		return append(buf, "null"...), true
	}
	return buf, false
}

// appendTableJSON writes a table as tableFromLua reads it: an array, or an
// object with its keys sorted. b.fields is a stack shared by the levels.
func (b *actor) appendTableJSON(buf []byte, t *lua.LTable, depth int) ([]byte, bool) {
	n := t.Len()
	isArray := t.Metatable == b.arrayMT
	if !isArray && n > 0 {
		k, _ := t.Next(lua.LNumber(n))
		isArray = k == lua.LNil
	}
	ok := true
	if isArray {
		buf = append(buf, '[')
		for i := 1; i <= n && ok && len(buf) <= host.MaxBodyBytes; i++ {
			if i > 1 {
				buf = append(buf, ',')
			}
			buf, ok = b.appendJSON(buf, t.RawGetInt(i), depth)
		}
		return append(buf, ']'), ok
	}
	base := len(b.fields)
	t.ForEach(func(k, v lua.LValue) {
		ks, isString := k.(lua.LString)
		if !isString {
			ok = false
			return
		}
		b.fields = append(b.fields, field{string(ks), v})
	})
	fs := b.fields[base:]
	for i := 1; i < len(fs); i++ {
		for j := i; j > 0 && fs[j].key < fs[j-1].key; j-- {
			fs[j], fs[j-1] = fs[j-1], fs[j]
		}
	}
	buf = append(buf, '{')
	for i := 0; i < len(fs) && ok && len(buf) <= host.MaxBodyBytes; i++ {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = host.AppendString(buf, fs[i].key)
		buf = append(buf, ':')
		buf, ok = b.appendJSON(buf, fs[i].v, depth)
	}
	clear(fs)
	b.fields = b.fields[:base]
	return append(buf, '}'), ok
}
