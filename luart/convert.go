package luart

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/peacepie/peacepie/host"
)

// maxDepth bounds the nesting of tables leaving Lua, and of the declared
// params a new instance copies: a table that contains itself is found when
// the walk reaches it, and is then told apart from a merely deep one.
// Bodies coming in are bounded by host.MaxDepth when decoded.
const maxDepth = host.MaxDepth

// maxTables bounds the tables one conversion or copy goes through. A table
// may be reached many times (t = {a = u, b = u}), so 60 levels of that
// are 2^60 tables to write out: the walk would neither end nor fit in
// memory, and Go code is not interrupted by the handler budget.
const maxTables = 1 << 20

// errConvert reports a Lua value that has no JSON form.
var errConvert = errors.New("value cannot be sent")

// convertError is a Lua value that cannot be converted or copied, with
// where it sits. It is filled as the walk unwinds, so a walk that succeeds
// pays nothing for it.
type convertError struct {
	why    string        // what is wrong with the value found there
	deep   bool          // the walk went deeper than maxDepth
	keys   []string      // the path, innermost first: ".name" or "[3]"
	tables []*lua.LTable // the tables along the path, innermost first
}

func (e *convertError) Error() string { return e.text("") }

// add records that the walk went through key k of table t.
func (e *convertError) add(t *lua.LTable, k lua.LValue) {
	e.keys = append(e.keys, pathKey(k))
	e.tables = append(e.tables, t)
}

// text says what is wrong, and where, below root ("body", "params.cyc").
// A walk that went too deep is a table that contains itself when a table
// comes back along its path: the path then ends where it first does.
func (e *convertError) text(root string) string {
	keys, why := e.keys, e.why
	if e.deep {
		why = fmt.Sprintf("tables nested deeper than %d", maxDepth)
		n := len(e.tables)
	find:
		for i := n - 1; i >= 0; i-- { // outermost first
			for j := n - 1; j > i; j-- {
				if e.tables[j] == e.tables[i] {
					// tables[i] is tables[j] again, reached through
					// keys[i+1]: the path ends with that key.
					keys, why = e.keys[i+1:], "a table that contains itself"
					break find
				}
			}
		}
	}
	var sb strings.Builder
	sb.WriteString(root)
	for i := len(keys) - 1; i >= 0; i-- {
		k := keys[i]
		if sb.Len() == 0 && k[0] == '.' {
			k = k[1:]
		}
		sb.WriteString(k)
	}
	if sb.Len() == 0 {
		return why
	}
	return sb.String() + ": " + why
}

// pathKey writes a table key as a step of a path: .name for a name, ["a
// b"] for another string, [3] for a number.
func pathKey(k lua.LValue) string {
	if s, ok := k.(lua.LString); ok {
		if isIdentifier(string(s)) {
			return "." + string(s)
		}
		return "[" + strconv.Quote(string(s)) + "]"
	}
	return "[" + k.String() + "]"
}

func isIdentifier(s string) bool {
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// convertAt gives a conversion error its place: root names the value
// ("body", "params.a"), so the error reads "value cannot be sent:
// body.a.self: a table that contains itself".
func convertAt(err error, root string) error {
	var ce *convertError
	if errors.As(err, &ce) {
		return fmt.Errorf("%w: %s", errConvert, ce.text(root))
	}
	return err
}

// toLua converts a body value to Lua. JSON null is nil at the top level and
// peacepie.null inside tables, so keys and array slots are kept. Arrays get
// the array metatable, so an empty array stays an array on the way back.
func (b *actor) toLua(v any) lua.LValue {
	switch x := v.(type) {
	case nil:
		return lua.LNil
	case string:
		b.L.NoteMemory(len(x))
		return lua.LString(x)
	case int64:
		return lua.LNumber(x)
	case float64:
		return lua.LNumber(x)
	case bool:
		return lua.LBool(x)
	case int:
		return lua.LNumber(x)
	case host.Object:
		t := b.L.CreateTable(0, len(x))
		for i := range x {
			t.RawSetString(x[i].Key, b.elemToLua(x[i].Value))
		}
		return t
	case host.Array:
		t := b.L.CreateTable(len(x), 0)
		for i := range x {
			t.RawSetInt(i+1, b.elemToLua(x[i]))
		}
		t.Metatable = b.arrayMT
		return t
	}
	return lua.LNil
}

func (b *actor) elemToLua(v any) lua.LValue {
	if v == nil {
		return b.null
	}
	return b.toLua(v)
}

// fromLua converts a Lua value to a body value. Tables with the array
// metatable, or whose keys are exactly 1..n (n >= 1), become arrays; other
// tables need string keys and become objects (keys sorted). Functions,
// userdata (except null), NaN and infinities are refused, and so are tables
// nested deeper than maxDepth and tables that contain themselves, with an
// error (errConvert) that names the path below root: "value cannot be sent:
// body.a.self: a table that contains itself".
func (b *actor) fromLua(v lua.LValue, root string) (any, error) {
	b.tables, b.bytes = 0, 0
	out, err := b.fromLuaDepth(v, 0)
	if err != nil {
		return nil, convertAt(err, root)
	}
	return out, nil
}

func (b *actor) fromLuaDepth(v lua.LValue, depth int) (any, error) {
	switch x := v.(type) {
	case *lua.LNilType:
		return nil, nil
	case lua.LString:
		if b.bytes += len(x) + 2; b.bytes > host.MaxBodyBytes {
			return nil, errTooLarge()
		}
		return string(x), nil
	case lua.LNumber:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, &convertError{why: fmt.Sprintf("%v is not a JSON number", f)}
		}
		if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
			return int64(f), nil
		}
		return f, nil
	case lua.LBool:
		return bool(x), nil
	case *lua.LTable:
		if depth >= maxDepth {
			return nil, &convertError{deep: true}
		}
		if b.tables++; b.tables > maxTables {
			return nil, errTooMany()
		}
		return b.tableFromLua(x, depth+1)
	case *lua.LUserData:
		if v == b.null {
			return nil, nil
		}
	}
	return nil, &convertError{why: fmt.Sprintf("a %s has no JSON form", v.Type())}
}

// errTooLarge: the value would be more than host.MaxBodyBytes of JSON. A
// string kept once in Lua counts each time the value reaches it, as it
// would be written out (to another process, or the console).
func errTooLarge() *convertError {
	return &convertError{why: fmt.Sprintf("larger than the limit of %d MiB as JSON (a string counts each time the value holds it)", host.MaxBodyBytes>>20)}
}

func errTooMany() *convertError {
	return &convertError{why: fmt.Sprintf("more than %d tables in one value (the same tables reached many times over?)", maxTables)}
}

// inside records, on an error from the walk below key k of t, that the
// path goes through there.
func inside(err error, t *lua.LTable, k lua.LValue) error {
	if ce, ok := err.(*convertError); ok {
		ce.add(t, k)
	}
	return err
}

func (b *actor) tableFromLua(t *lua.LTable, depth int) (any, error) {
	n := t.Len()
	isArray := t.Metatable == b.arrayMT
	if !isArray && n > 0 {
		// A sequence 1..n with nothing else is an array.
		k, _ := t.Next(lua.LNumber(n))
		isArray = k == lua.LNil
	}
	if isArray {
		arr := make(host.Array, n)
		for i := 1; i <= n; i++ {
			e, err := b.fromLuaDepth(t.RawGetInt(i), depth)
			if err != nil {
				return nil, inside(err, t, lua.LNumber(i))
			}
			arr[i-1] = e
		}
		return arr, nil
	}
	// ForEachString reads the hash part without building the iteration
	// index that Next needs, and without boxing each key (see
	// third_party/gopher-lua/patches/0001 and 0009).
	obj := make(host.Object, 0, t.StringKeys())
	var err error
	other := t.ForEachString(func(k string, v lua.LValue) {
		if err != nil {
			return
		}
		if b.bytes += len(k) + 4; b.bytes > host.MaxBodyBytes {
			err = errTooLarge()
			return
		}
		var e any
		if e, err = b.fromLuaDepth(v, depth); err == nil {
			obj = append(obj, host.Field{Key: k, Value: e})
		} else {
			err = inside(err, t, lua.LString(k))
		}
	})
	if other != lua.LNil {
		return nil, &convertError{why: fmt.Sprintf("a table with key %s of type %s is neither an array (keys 1..n) nor an object (string keys)", other.String(), other.Type())}
	}
	if err != nil {
		return nil, err
	}
	// Keys in a stable order: tables have none of their own.
	for i := 1; i < len(obj); i++ {
		for j := i; j > 0 && obj[j].Key < obj[j-1].Key; j-- {
			obj[j], obj[j-1] = obj[j-1], obj[j]
		}
	}
	return obj, nil
}
