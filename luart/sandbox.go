package luart

import (
	lua "github.com/yuin/gopher-lua"
)

// stateOptions keep an idle actor small: a short registry that grows on
// demand and a call stack that grows and shrinks.
var stateOptions = lua.Options{
	CallStackSize:       200,
	RegistrySize:        256,
	RegistryMaxSize:     256 * 1024,
	RegistryGrowStep:    256,
	SkipOpenLibs:        true,
	MinimizeStackMemory: true,
}

// removedBase are base functions an actor may not use: they read files,
// reach the host's garbage collector or bypass the package's own require.
var removedBase = []string{"dofile", "loadfile", "collectgarbage", "_printregs", "module", "require", "print"}

// safeOS are the only os functions an actor gets.
var safeOS = []string{"time", "clock", "date", "difftime"}

// newSandbox returns a Lua state with only safe libraries: base (without
// file access), table, string, math, coroutine and a clock-only os.
func newSandbox() *lua.LState {
	L := lua.NewState(stateOptions)
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
		L.Push(L.NewFunction(lib.fn))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	g := L.G.Global
	for _, name := range removedBase {
		g.RawSetString(name, lua.LNil)
	}
	if full, ok := g.RawGetString(lua.OsLibName).(*lua.LTable); ok {
		os := L.CreateTable(0, len(safeOS))
		for _, name := range safeOS {
			os.RawSetString(name, full.RawGetString(name))
		}
		g.RawSetString(lua.OsLibName, os)
	}
	// OpenBase also registers package.loaded; nothing else may reach it.
	g.RawSetString("package", lua.LNil)
	return L
}
