package luart

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	lua "github.com/yuin/gopher-lua"

	"github.com/peacepie/peacepie/host"
)

// Hibernation (host.Hibernator): a class that declares hibernate = true
// lets its idle actors give up their Lua state. What is kept is self's
// fields in a compact form (freeze): nil, booleans, numbers, strings,
// peacepie.null and tables of those (arrays keep their mark), each table
// reached once. Waking loads the class's module again into a new state,
// puts the fields back and runs the on_wake hook. What lives outside self
// (module-level locals, globals a handler set) is not kept: a class that
// keeps state there must not declare hibernate.

// Hibernates reports whether the class declares hibernate = true.
func (b *actor) Hibernates() bool { return b.class.RawGetString("hibernate") == lua.LTrue }

// Hibernate runs the class's on_hibernate hook, freezes self and closes the
// state. When self holds what cannot be frozen (a function, a coroutine,
// userdata, a table with a metatable of its own or reached twice) the
// actor stays awake, its state untouched but for what the hook did.
func (b *actor) Hibernate(*host.Actor) (host.Dormant, error) {
	if !b.Hibernates() {
		return nil, fmt.Errorf("class %s does not declare hibernate = true", b.cls.name)
	}
	if err := b.callHook("on_hibernate"); err != nil {
		return nil, fmt.Errorf("the on_hibernate hook failed: %w", err)
	}
	f := freezer{b: b, seen: map[*lua.LTable]string{}}
	if err := f.table(b.self, "self", 0); err != nil {
		return nil, err
	}
	_, stop := b.method("stop").(*lua.LFunction)
	b.L.Close()
	return &dormant{cls: b.cls, data: f.out, stop: stop}, nil
}

// dormant is a hibernated Lua actor: its class and self, frozen, and
// whether the class has a stop hook.
type dormant struct {
	cls  *class
	data []byte
	stop bool
}

// HasStop implements host.Dormant's optional method: an actor whose class
// has no stop hook is removed without being woken.
func (d *dormant) HasStop() bool { return d.stop }

// Size implements host.Dormant.
func (d *dormant) Size() int64 { return int64(len(d.data)) + 32 }

// Wake implements host.Dormant: the class's module is loaded into a new
// state (as create_actor does, without the init hook), self's fields are
// put back, and the class's on_wake hook runs. An on_wake hook that fails is
// logged; the actor runs on with the state it was given.
func (d *dormant) Wake(a *host.Actor) (host.Behaviour, error) {
	b, err := newActor(d.cls, a, nil, false)
	if err != nil {
		return nil, err
	}
	var keys []lua.LValue // the declared defaults go: self is what was frozen
	b.self.ForEach(func(k, _ lua.LValue) { keys = append(keys, k) })
	for _, k := range keys {
		b.self.RawSet(k, lua.LNil)
	}
	t := thawer{b: b, in: d.data}
	if err := t.into(b.self); err != nil {
		b.L.Close()
		return nil, fmt.Errorf("thaw the state of %q: %w", a.Name(), err)
	}
	if err := b.callHook("on_wake"); err != nil {
		a.Logger().Error("on_wake hook failed", "error", err.Error())
	}
	return b, nil
}

// The frozen form: a table is its count of pairs, then each key and value;
// a value is a tag, then its bytes.
const (
	tagFalse byte = iota + 1
	tagTrue
	tagNumber // 8 bytes, IEEE 754
	tagString // uvarint length, bytes
	tagTable  // uvarint pairs, then the pairs
	tagArray  // a table with the array mark
	tagNull   // peacepie.null
)

// freezer writes self's fields in the frozen form.
type freezer struct {
	b      *actor
	out    []byte
	seen   map[*lua.LTable]string // table → where it was met first
	tables int
}

func (f *freezer) table(t *lua.LTable, path string, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%s is nested more than %d deep", path, maxDepth)
	}
	if f.tables++; f.tables > maxTables {
		return fmt.Errorf("self holds more than %d tables", maxTables)
	}
	if first, ok := f.seen[t]; ok {
		return fmt.Errorf("%s and %s are the same table (a copy would part them)", first, path)
	}
	f.seen[t] = path
	n := 0
	t.ForEach(func(lua.LValue, lua.LValue) { n++ })
	f.out = binary.AppendUvarint(f.out, uint64(n))
	var err error
	t.ForEach(func(k, v lua.LValue) {
		if err != nil {
			return
		}
		at := path + pathKey(k)
		switch k.(type) {
		case lua.LString, lua.LNumber, lua.LBool:
		default:
			err = fmt.Errorf("%s has a key that is a %s", path, k.Type())
			return
		}
		if err = f.value(k, at, depth); err == nil {
			err = f.value(v, at, depth)
		}
	})
	return err
}

func (f *freezer) value(v lua.LValue, path string, depth int) error {
	switch v := v.(type) {
	case lua.LBool:
		if v {
			f.out = append(f.out, tagTrue)
		} else {
			f.out = append(f.out, tagFalse)
		}
	case lua.LNumber:
		f.out = append(f.out, tagNumber)
		f.out = binary.BigEndian.AppendUint64(f.out, math.Float64bits(float64(v)))
	case lua.LString:
		f.out = append(f.out, tagString)
		f.out = binary.AppendUvarint(f.out, uint64(len(v)))
		f.out = append(f.out, v...)
	case *lua.LTable:
		switch v.Metatable {
		case lua.LNil, nil:
			f.out = append(f.out, tagTable)
		case f.b.arrayMT:
			f.out = append(f.out, tagArray)
		default:
			return fmt.Errorf("%s is a table with a metatable of its own", path)
		}
		return f.table(v, path, depth+1)
	case *lua.LUserData:
		if v != f.b.null {
			return fmt.Errorf("%s is userdata", path)
		}
		f.out = append(f.out, tagNull)
	default:
		return fmt.Errorf("%s is a %s", path, v.Type())
	}
	return nil
}

// thawer reads the frozen form back into tables of a new state.
type thawer struct {
	b  *actor
	in []byte
}

var errFrozen = errors.New("the frozen state is damaged")

func (t *thawer) into(tbl *lua.LTable) error {
	n, k := binary.Uvarint(t.in)
	if k <= 0 || n > uint64(len(t.in)) {
		return errFrozen
	}
	t.in = t.in[k:]
	for ; n > 0; n-- {
		key, err := t.value()
		if err != nil {
			return err
		}
		v, err := t.value()
		if err != nil {
			return err
		}
		tbl.RawSet(key, v)
	}
	return nil
}

func (t *thawer) value() (lua.LValue, error) {
	if len(t.in) == 0 {
		return nil, errFrozen
	}
	tag := t.in[0]
	t.in = t.in[1:]
	switch tag {
	case tagFalse:
		return lua.LFalse, nil
	case tagTrue:
		return lua.LTrue, nil
	case tagNumber:
		if len(t.in) < 8 {
			return nil, errFrozen
		}
		v := math.Float64frombits(binary.BigEndian.Uint64(t.in))
		t.in = t.in[8:]
		return lua.LNumber(v), nil
	case tagString:
		n, k := binary.Uvarint(t.in)
		if k <= 0 || n > uint64(len(t.in)-k) {
			return nil, errFrozen
		}
		s := string(t.in[k : k+int(n)])
		t.in = t.in[k+int(n):]
		return lua.LString(s), nil
	case tagTable, tagArray:
		tbl := t.b.L.CreateTable(0, 0)
		if tag == tagArray {
			tbl.Metatable = t.b.arrayMT
		}
		return tbl, t.into(tbl)
	case tagNull:
		return t.b.null, nil
	}
	return nil, errFrozen
}
