package luart

import (
	"errors"
	"fmt"
	"math"

	lua "github.com/yuin/gopher-lua"

	"github.com/peacepie/peacepie/host"
)

// maxDepth bounds the nesting of tables sent from Lua (and catches cycles);
// bodies coming in are bounded by host.MaxDepth when decoded.
const maxDepth = host.MaxDepth

// errConvert reports a Lua value that has no JSON form.
var errConvert = errors.New("value cannot be sent")

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
// userdata (except null), NaN and infinities are refused.
func (b *actor) fromLua(v lua.LValue) (any, error) {
	return b.fromLuaDepth(v, 0)
}

func (b *actor) fromLuaDepth(v lua.LValue, depth int) (any, error) {
	switch x := v.(type) {
	case *lua.LNilType:
		return nil, nil
	case lua.LString:
		return string(x), nil
	case lua.LNumber:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%w: %v is not a JSON number", errConvert, f)
		}
		if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
			return int64(f), nil
		}
		return f, nil
	case lua.LBool:
		return bool(x), nil
	case *lua.LTable:
		if depth >= maxDepth {
			return nil, fmt.Errorf("%w: tables nested deeper than %d (a cycle?)", errConvert, maxDepth)
		}
		return b.tableFromLua(x, depth+1)
	case *lua.LUserData:
		if v == b.null {
			return nil, nil
		}
	}
	return nil, fmt.Errorf("%w: a %s has no JSON form", errConvert, v.Type())
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
				return nil, err
			}
			arr[i-1] = e
		}
		return arr, nil
	}
	// ForEach reads the hash part without building the iteration index
	// that Next needs (see third_party/gopher-lua/patches/0001-lazy-iteration-index.patch).
	obj := make(host.Object, 0, 4)
	var err error
	t.ForEach(func(k, v lua.LValue) {
		if err != nil {
			return
		}
		ks, ok := k.(lua.LString)
		if !ok {
			err = fmt.Errorf("%w: a table with key %s of type %s is neither an array (keys 1..n) nor an object (string keys)", errConvert, k.String(), k.Type())
			return
		}
		var e any
		if e, err = b.fromLuaDepth(v, depth); err == nil {
			obj = append(obj, host.Field{Key: string(ks), Value: e})
		}
	})
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
