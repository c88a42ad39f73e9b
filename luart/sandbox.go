package luart

import (
	"sync"

	lua "github.com/yuin/gopher-lua"
)

// stateOptions keep an idle actor small: a short registry (the value
// stack: 32 slots, which gopher-lua takes for a registry that may grow
// with our patch 0011; a typical handler fits) that grows 64 slots at a
// time on demand, and a call stack that grows and shrinks.
var stateOptions = lua.Options{
	CallStackSize:       200,
	RegistrySize:        32,
	RegistryMaxSize:     256 * 1024,
	RegistryGrowStep:    64,
	SkipOpenLibs:        true,
	MinimizeStackMemory: true,
}

// safeBase are the base functions an actor gets. Left out: dofile,
// loadfile, load, loadstring (no code from outside the package),
// getfenv/setfenv (they would reach shared functions' environments),
// collectgarbage, module; require and print are the actor's own.
var safeBase = []string{
	"assert", "error", "getmetatable", "ipairs", "next", "pairs", "pcall", "rawequal",
	"rawget", "rawset", "select", "setmetatable", "tonumber", "tostring", "type", "unpack", "xpcall",
	"_VERSION",
}

// safeLibs are the libraries an actor gets, with the functions of each
// (nil: all of them).
var safeLibs = map[string][]string{
	lua.TabLibName:       nil,
	lua.StringLibName:    nil,
	lua.MathLibName:      nil,
	lua.CoroutineLibName: nil,
	lua.OsLibName:        {"time", "clock", "date", "difftime"},
}

// library holds what every sandbox shares: the safe functions, opened once
// in a template state. Actors reach them only through tables of their own
// whose metatables are protected (__metatable), so no actor can change what
// another sees. Go maps may be read concurrently; nothing writes to these
// tables after init.
var library struct {
	once     sync.Once
	globalMT *lua.LTable             // {__index = base functions}
	libMTs   map[string]*lua.LTable  // {__index = the library}
	moduleMT *lua.LTable             // {__index = the module peacepie}
	logMT    *lua.LTable             // {__index = peacepie.log}
	arrayMT  *lua.LTable             // the metatable that marks arrays
	null     *lua.LUserData          // peacepie.null
	shared   map[lua.LValue]struct{} // everything above and what it reaches: not counted in an actor's memory
}

// isShared reports whether v belongs to the library every sandbox shares.
func isShared(v lua.LValue) bool {
	_, ok := library.shared[v]
	return ok
}

// collectShared adds v and the tables, functions and userdata it reaches
// to library.shared.
func collectShared(v lua.LValue) {
	todo := []lua.LValue{v}
	for len(todo) > 0 {
		v := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		switch v.(type) {
		case *lua.LTable, *lua.LFunction, *lua.LUserData:
		default:
			continue
		}
		if _, ok := library.shared[v]; ok {
			continue
		}
		library.shared[v] = struct{}{}
		switch x := v.(type) {
		case *lua.LTable:
			todo = append(todo, x.Metatable)
			x.ForEach(func(k, e lua.LValue) { todo = append(todo, k, e) })
		case *lua.LFunction:
			if x.Env != nil {
				todo = append(todo, x.Env)
			}
			for _, uv := range x.Upvalues {
				todo = append(todo, uv.Value())
			}
		case *lua.LUserData:
			todo = append(todo, x.Metatable)
			if x.Env != nil {
				todo = append(todo, x.Env)
			}
		}
	}
}

func initLibrary() {
	T := lua.NewState(lua.Options{SkipOpenLibs: true})
	for _, lib := range []struct {
		name string
		fn   lua.LGFunction
	}{
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.StringLibName, lua.OpenString},
		{lua.MathLibName, lua.OpenMath},
		{lua.CoroutineLibName, lua.OpenCoroutine},
		{lua.OsLibName, lua.OpenOs},
	} {
		T.Push(T.NewFunction(lib.fn))
		T.Push(lua.LString(lib.name))
		T.Call(1, 0)
	}
	g := T.G.Global
	base := T.CreateTable(0, len(safeBase)+2)
	for _, name := range safeBase {
		base.RawSetString(name, g.RawGetString(name))
	}
	base.RawSetString("require", T.NewFunction(shared((*actor).require)))
	base.RawSetString("print", T.NewFunction(shared((*actor).print)))
	library.globalMT = protectedIndex(T, base)

	library.arrayMT = T.CreateTable(0, 2)
	library.arrayMT.RawSetString("__name", lua.LString("array"))
	library.arrayMT.RawSetString("__metatable", lua.LString("array"))
	library.null = T.NewUserData()
	nullMT := T.CreateTable(0, 2)
	nullMT.RawSetString("__tostring", T.NewFunction(func(L *lua.LState) int { L.Push(lua.LString("null")); return 1 }))
	nullMT.RawSetString("__metatable", lua.LString("null"))
	library.null.Metatable = nullMT
	module, logMT := buildModule(T, library.null)
	library.moduleMT, library.logMT = protectedIndex(T, module), logMT
	library.libMTs = make(map[string]*lua.LTable, len(safeLibs))
	for name, fns := range safeLibs {
		full := g.RawGetString(name).(*lua.LTable)
		lib := full
		if fns != nil {
			lib = T.CreateTable(0, len(fns))
			for _, fn := range fns {
				lib.RawSetString(fn, full.RawGetString(fn))
			}
		}
		if name == lua.CoroutineLibName {
			lib = T.CreateTable(0, 8)
			full.ForEach(func(k, v lua.LValue) { lib.RawSet(k, v) })
			origCreate = full.RawGetString("create").(*lua.LFunction)
			origWrap = full.RawGetString("wrap").(*lua.LFunction)
			lib.RawSetString("create", T.NewFunction(coCreate))
			lib.RawSetString("wrap", T.NewFunction(coWrap))
		}
		library.libMTs[name] = protectedIndex(T, lib)
	}
	library.shared = make(map[lua.LValue]struct{}, 512)
	for _, v := range []lua.LValue{T.G.Global, T.G.Registry, library.globalMT, library.moduleMT, library.logMT, library.arrayMT, library.null} {
		collectShared(v)
	}
	for _, mt := range library.libMTs {
		collectShared(mt)
	}
}

// gopher-lua gives a new coroutine a child of its creator's context, which
// stays cancelled after one budget interruption. These wrappers create it
// without a context and then attach the actor's own re-armable budget
// context, so coroutines are interrupted like the handler and work again
// afterwards.
var origCreate, origWrap *lua.LFunction

func coCreate(L *lua.LState) int {
	L.CheckFunction(1)
	ctx := L.RemoveContext()
	L.Push(origCreate)
	L.Push(L.Get(1))
	L.Call(1, 1)
	if ctx != nil {
		L.SetContext(ctx)
		L.ToThread(-1).SetContext(ctx)
	}
	return 1
}

func coWrap(L *lua.LState) int {
	L.CheckFunction(1)
	ctx := L.RemoveContext()
	L.Push(origWrap)
	L.Push(L.Get(1))
	L.Call(1, 1)
	if ctx != nil {
		L.SetContext(ctx)
		// The wrapper's only upvalue is its coroutine.
		if fn, ok := L.Get(-1).(*lua.LFunction); ok && len(fn.Upvalues) == 1 {
			if co, ok := fn.Upvalues[0].Value().(*lua.LState); ok {
				co.SetContext(ctx)
			}
		}
	}
	return 1
}

func protectedIndex(L *lua.LState, t *lua.LTable) *lua.LTable {
	mt := L.CreateTable(0, 2)
	mt.RawSetString("__index", t)
	mt.RawSetString("__metatable", lua.LString("locked"))
	return mt
}

// newSandbox returns a Lua state with only the safe libraries.
func newSandbox() *lua.LState {
	library.once.Do(initLibrary)
	L := lua.NewState(stateOptions)
	// gopher-lua presizes the globals and the registry for full libraries;
	// an actor's own globals are a handful (the rest is shared).
	g := L.CreateTable(0, 8)
	L.G.Global, L.Env = g, g
	L.G.Registry = L.CreateTable(0, 1)
	g.Metatable = library.globalMT
	g.RawSetString("_G", g)
	for name, mt := range library.libMTs {
		proxy := L.CreateTable(0, 0)
		proxy.Metatable = mt
		g.RawSetString(name, proxy)
		if name == lua.StringLibName {
			// ("x"):upper() and friends look up the string library here.
			smt := L.CreateTable(0, 1)
			smt.RawSetString("__index", proxy)
			L.SetMetatable(lua.LString(""), smt)
		}
	}
	return L
}
