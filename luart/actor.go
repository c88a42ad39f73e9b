package luart

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	lua "github.com/yuin/gopher-lua"

	"github.com/peacepie/peacepie/host"
)

// isCommand reports whether a class field may be called as a command: the
// hooks (init, stop, on_hibernate, on_wake), the params table, the
// hibernate flag and names starting with "_" may not.
func isCommand(name string) bool {
	switch name {
	case "init", "stop", "params", "hibernate", "on_hibernate", "on_wake":
		return false
	}
	return name != "" && name[0] != '_'
}

// LuaError is an error raised by Lua code, with its traceback.
type LuaError struct {
	Message string
	Trace   string
}

func (e *LuaError) Error() string { return e.Message }

// Traceback returns the Lua stack at the point of the error.
func (e *LuaError) Traceback() string { return e.Trace }

func luaError(err error) error {
	var api *lua.ApiError
	if errors.As(err, &api) {
		return &LuaError{Message: api.Object.String(), Trace: api.StackTrace}
	}
	return err
}

// actor is the behaviour of one Lua actor: its state, class and instance.
// Everything here is touched only by the actor's goroutine.
type actor struct {
	L       *lua.LState
	host    *host.Actor
	class   *lua.LTable     // the class table returned by the module
	self    *lua.LTable     // the instance: declared params live here
	params  []string        // declared params, in a stable order
	arrayMT *lua.LTable     // marks tables that are JSON arrays (shared)
	null    *lua.LUserData  // peacepie.null (shared)
	module  *lua.LTable     // what require "peacepie" returns
	ctx     context.Context // the budget context attached to L
	cls     *class
	loaded  map[string]lua.LValue // modules of the package required so far
	// lastTo is the name checkAddress parsed last, and lastAddr its address.
	lastTo   string
	lastAddr host.Address
	fields   []field // appendTableJSON's stack
	tables   int     // tables the current conversion or copy went through (maxTables)
	bytes    int     // the JSON size of the current conversion so far (host.MaxBodyBytes)
	// handling is the command (or hook) the actor runs, for the profiler's
	// samples; profile the profile it samples into (nil: none; profile.go).
	handling string
	profile  atomic.Pointer[host.Profile]
}

func newActor(c *class, a *host.Actor, params host.Object, lenient bool) (*actor, error) {
	b := &actor{L: newSandbox(), host: a, cls: c, arrayMT: library.arrayMT, null: library.null}
	L := b.L
	L.SetSampleHook(b.sample)
	self := L.NewUserData()
	self.Value = b
	L.G.Registry.RawSetString(actorKey, self)
	b.module = L.CreateTable(0, 1)
	b.module.Metatable = library.moduleMT
	log := L.CreateTable(0, 0)
	log.Metatable = library.logMT
	b.module.RawSetString("log", log)

	b.attachBudget()
	b.limitMemory()
	cv, err := b.load(c.module)
	if err != nil {
		L.Close()
		return nil, fmt.Errorf("load class %s of %s: %w", c.name, c.pkg.pkg.ID(), err)
	}
	ct, ok := cv.(*lua.LTable)
	if !ok {
		L.Close()
		return nil, fmt.Errorf("module %q of %s must return its class table, not a %s", c.module, c.pkg.pkg.ID(), cv.Type())
	}
	b.class = ct
	b.self = L.CreateTable(0, 4)
	mt := L.CreateTable(0, 1)
	mt.RawSetString("__index", ct)
	b.self.Metatable = mt
	if err := b.declareParams(); err != nil {
		L.Close()
		return nil, err
	}
	if lenient {
		kept := params[:0:0]
		for _, f := range params {
			if b.isParam(f.Key) {
				kept = append(kept, f)
			}
		}
		params = kept
	}
	if len(params) > 0 {
		if err := b.setParams(params); err != nil {
			L.Close()
			return nil, err
		}
	}
	return b, nil
}

// declareParams copies the class's declared params with their defaults onto
// the instance. A default of peacepie.null declares a param that is nil.
func (b *actor) declareParams() error {
	pv := b.class.RawGetString("params")
	if pv == lua.LNil {
		return nil
	}
	pt, ok := pv.(*lua.LTable)
	if !ok {
		return fmt.Errorf("class %s: params must be a table of name = default, not a %s", b.cls.name, pv.Type())
	}
	var err error
	b.tables = 0
	pt.ForEach(func(k, v lua.LValue) {
		name, ok := k.(lua.LString)
		if !ok {
			err = fmt.Errorf("class %s: param names must be strings, not %s", b.cls.name, k.String())
			return
		}
		b.params = append(b.params, string(name))
		if v == b.null {
			v = lua.LNil
		} else if t, ok := v.(*lua.LTable); ok {
			var cerr error
			if v, cerr = b.copyTable(t, 1); cerr != nil { // defaults are per instance
				if err == nil {
					err = fmt.Errorf("class %s: declared %s", b.cls.name, cerr.(*convertError).text("params"+pathKey(name)))
				}
				return
			}
		}
		b.self.RawSetString(string(name), v)
	})
	sortStrings(b.params)
	return err
}

// copyTable copies a declared param's default table, tables inside it too,
// to depth maxDepth. A table that contains itself, or one nested deeper, is
// refused with a *convertError (a copy would never end).
func (b *actor) copyTable(t *lua.LTable, depth int) (*lua.LTable, error) {
	if depth > maxDepth {
		return nil, &convertError{deep: true}
	}
	if b.tables++; b.tables > maxTables {
		return nil, errTooMany()
	}
	c := b.L.CreateTable(t.Len(), 0)
	var err error
	t.ForEach(func(k, v lua.LValue) {
		if err != nil {
			return
		}
		if vt, ok := v.(*lua.LTable); ok {
			if v, err = b.copyTable(vt, depth+1); err != nil {
				err = inside(err, t, k)
				return
			}
		}
		c.RawSet(k, v)
	})
	if err != nil {
		return nil, err
	}
	c.Metatable = t.Metatable
	return c, nil
}

func (b *actor) isParam(name string) bool {
	for _, p := range b.params {
		if p == name {
			return true
		}
	}
	return false
}

// setParams sets declared params from a name: value object. Unknown names
// are refused before anything is changed.
func (b *actor) setParams(params host.Object) error {
	for _, f := range params {
		if !b.isParam(f.Key) {
			return fmt.Errorf("%w: %s has no param %q (declared: %s)", host.ErrBadRequest, b.cls.name, f.Key, strings.Join(b.params, ", "))
		}
	}
	for _, f := range params {
		b.self.RawSetString(f.Key, b.toLua(f.Value))
	}
	return nil
}

// paramsValue returns the params as [{"name", "value"}], sorted by name.
func (b *actor) paramsValue() (host.Array, error) {
	out := make(host.Array, 0, len(b.params))
	for _, name := range b.params {
		v, err := b.fromLua(b.self.RawGetString(name), "params"+pathKey(lua.LString(name)))
		if err != nil {
			return nil, err
		}
		out = append(out, host.Object{{Key: "name", Value: name}, {Key: "value", Value: v}})
	}
	return out, nil
}

// attachBudget attaches the actor's budget context, which makes every Lua
// instruction check it (coroutines get it too, see sandbox.go).
func (b *actor) attachBudget() {
	if ctx := b.host.BudgetContext(); ctx != nil && ctx != b.ctx {
		b.ctx = ctx
		b.L.SetContext(ctx)
	}
}

// limitMemory bounds the state's memory to the actor's limit: the VM
// charges what Lua code allocates, and measures the state with MemoryInUse
// when the charges reach the limit (third_party/gopher-lua, patch 0006).
func (b *actor) limitMemory() {
	if limit := b.host.MemoryLimit(); limit > 0 {
		b.L.SetMemoryLimit(limit, b.MemoryInUse)
	}
}

// MemoryInUse estimates the bytes the actor holds: what its state's
// registry, globals, stack, instance, class and modules reach, without
// what every actor shares, and its timers with their messages
// (host.MemoryMeter).
func (b *actor) MemoryInUse() int64 {
	roots := make([]lua.LValue, 0, 2+len(b.loaded))
	if b.self != nil {
		roots = append(roots, b.self)
	}
	if b.class != nil {
		roots = append(roots, b.class)
	}
	for _, v := range b.loaded {
		roots = append(roots, v)
	}
	return b.L.LiveSize(isShared, roots...) + b.host.TimerBytes()
}

// memoryError turns a handler's outcome into an error wrapping
// host.ErrMemory when the memory limit refused an allocation during it
// (refused is the count before the handler): the error the handler
// failed with, or, when the handler caught the refusal and the actor
// holds more than its limit, an error of its own.
func (b *actor) memoryError(refused int, err error) error {
	if b.L.MemoryRefusals() == refused {
		return err
	}
	limit := b.L.MemoryLimit()
	if err != nil {
		return fmt.Errorf("%w (%d MiB): %w", host.ErrMemory, limit>>20, err)
	}
	if live := b.MemoryInUse(); live > limit {
		return fmt.Errorf("%w (%d MiB): the handler caught the memory error but holds about %.1f MiB", host.ErrMemory, limit>>20, float64(live)/(1<<20))
	}
	return nil
}

// Init runs the class's init hook, if any. When it fails the actor never
// runs, so the state is closed here.
func (b *actor) Init(*host.Actor) error {
	err := b.callHook("init")
	if err != nil {
		b.L.Close()
	}
	return err
}

// Stop runs the class's stop hook, if any, and closes the state.
func (b *actor) Stop(*host.Actor) {
	if err := b.callHook("stop"); err != nil {
		b.host.Logger().Error("stop hook failed", "error", err.Error())
	}
	b.L.Close()
}

// Close releases the state of an actor that never ran (an adoptee of a
// move that was undone: host.Actor.discard).
func (b *actor) Close() { b.L.Close() }

func (b *actor) callHook(name string) error {
	fn, ok := b.method(name).(*lua.LFunction)
	if !ok {
		return nil
	}
	b.handling = name
	b.L.Push(fn)
	b.L.Push(b.self)
	if err := b.L.PCall(1, 0, nil); err != nil {
		return luaError(err)
	}
	return nil
}

// Receive calls the handler of m's command with (self, body[, msg]) and turns
// what it returns into the reply.
func (b *actor) Receive(_ *host.Actor, m *host.Message) (host.Reply, error) {
	fn, ok := b.method(m.Command).(*lua.LFunction)
	if !ok || !isCommand(m.Command) {
		return b.builtin(m)
	}
	L := b.L
	b.handling = m.Command
	refused := L.MemoryRefusals()
	L.Push(fn)
	L.Push(b.self)
	L.Push(b.toLua(m.Body))
	nargs := 2
	if fn.Proto != nil && (fn.Proto.NumParameters >= 3 || fn.Proto.IsVarArg != 0) {
		L.Push(b.msgTable(m))
		nargs = 3
	}
	if err := L.PCall(nargs, 2, nil); err != nil {
		return host.Reply{}, b.memoryError(refused, b.handlerError(m.Command, luaError(err)))
	}
	if err := b.memoryError(refused, nil); err != nil {
		L.Pop(2)
		return host.Reply{}, err
	}
	cmd, body := L.Get(-2), L.Get(-1)
	L.Pop(2)
	switch c := cmd.(type) {
	case *lua.LNilType:
		if m.Sender.IsZero() {
			return host.Reply{}, nil
		}
		return host.Reply{Command: "is_handled", Body: host.Object{{Key: "mid", Value: m.ID.String()}}}, nil
	case lua.LString:
		bv, err := b.fromLua(body, "body")
		if err != nil {
			return host.Reply{}, fmt.Errorf("reply %q of handler %q: %w", string(c), m.Command, err)
		}
		return host.Reply{Command: string(c), Body: bv}, nil
	}
	return host.Reply{}, fmt.Errorf("handler %q returned a %s: a handler returns nothing, or a reply command (string) and an optional body", m.Command, cmd.Type())
}

// builtin handles the commands every Lua actor has unless its class defines
// them: set_params, get_params and get_commands.
func (b *actor) builtin(m *host.Message) (host.Reply, error) {
	switch m.Command {
	case "set_params":
		params, err := paramsFromBody(m.Body)
		if err != nil {
			return host.Reply{}, err
		}
		if err := b.setParams(params); err != nil {
			return host.Reply{}, err
		}
		b.noteParams()
		return host.Reply{Command: "params_are_set"}, nil
	case "get_params":
		params, err := b.paramsValue()
		if err != nil {
			return host.Reply{}, err
		}
		return host.Reply{Command: "params", Body: host.Object{{Key: "params", Value: params}}}, nil
	case "get_commands":
		return host.Reply{Command: "commands", Body: host.Object{{Key: "commands", Value: b.commands()}}}, nil
	}
	return host.Reply{}, fmt.Errorf("%w: %s has no handler for %q", host.ErrNotHandled, b.cls.name, m.Command)
}

// paramsFromBody reads {"params": [{"name", "value"}, ...]} (the original's
// shape) or {"params": {"name": value, ...}}.
func paramsFromBody(body any) (host.Object, error) {
	const shape = `the body must be {"params": [{"name": "...", "value": ...}, ...]}`
	o, ok := body.(host.Object)
	if !ok {
		return nil, fmt.Errorf("%w: %s", host.ErrBadRequest, shape)
	}
	pv, _ := o.Get("params")
	switch ps := pv.(type) {
	case host.Object:
		return ps, nil
	case host.Array:
		out := make(host.Object, 0, len(ps))
		for i, e := range ps {
			eo, ok := e.(host.Object)
			name := ""
			if ok {
				name = eo.String("name")
			}
			if name == "" {
				return nil, fmt.Errorf("%w: params[%d] has no \"name\"; %s", host.ErrBadRequest, i, shape)
			}
			v, _ := eo.Get("value")
			out = append(out, host.Field{Key: name, Value: v})
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: %s", host.ErrBadRequest, shape)
}

// msgTable is the third handler argument: the message's envelope.
func (b *actor) msgTable(m *host.Message) *lua.LTable {
	t := b.L.CreateTable(0, 5)
	t.RawSetString("command", lua.LString(m.Command))
	t.RawSetString("mid", lua.LString(m.ID.String()))
	if !m.Sender.IsZero() {
		t.RawSetString("sender", b.toLua(m.Sender.Value()))
	}
	if m.Timeout > 0 {
		t.RawSetString("timeout", lua.LNumber(m.Timeout))
	}
	t.RawSetString("body", b.toLua(m.Body))
	return t
}

// load runs a module of the actor's package (once) and returns its value.
func (b *actor) load(module string) (lua.LValue, error) {
	if module == "peacepie" {
		return b.module, nil
	}
	if v, ok := b.loaded[module]; ok {
		return v, nil
	}
	if b.loaded == nil {
		b.loaded = make(map[string]lua.LValue, 2)
	}
	proto, err := b.cls.proto(module)
	if errors.Is(err, errNoModule) {
		// Not a module of the package: a Go service of the system?
		if v, ok, serr := b.service(module); ok {
			if serr != nil {
				return nil, serr
			}
			b.loaded[module] = v
			return v, nil
		}
		return nil, fmt.Errorf("%w, nor a service of this process (services: %s)", err, serviceList(b.cls.rt.services))
	}
	if err != nil {
		return nil, err
	}
	L := b.L
	b.loaded[module] = lua.LTrue // a require cycle sees true, as in Lua
	L.Push(L.NewFunctionFromProto(proto))
	if err := L.PCall(0, 1, nil); err != nil {
		delete(b.loaded, module)
		return nil, luaError(err)
	}
	v := L.Get(-1)
	L.Pop(1)
	if v == lua.LNil {
		v = lua.LTrue
	}
	b.loaded[module] = v
	return v, nil
}

// actorKey is where a state's registry keeps its actor, so the functions
// every state shares find the actor they run for.
const actorKey = "peacepie.actor"

func actorOf(L *lua.LState) *actor {
	return L.G.Registry.RawGetString(actorKey).(*lua.LUserData).Value.(*actor)
}

// require finds modules of the actor's own package, and "peacepie".
func (b *actor) require(L *lua.LState) int {
	name := L.CheckString(1)
	v, err := b.load(name)
	if err != nil {
		L.RaiseError("require %q: %s", name, err.Error())
	}
	L.Push(v)
	return 1
}

// print writes its arguments, separated by tabs, as one line of the
// process's output.
func (b *actor) print(L *lua.LState) int {
	n := L.GetTop()
	var sb strings.Builder
	for i := 1; i <= n; i++ {
		if i > 1 {
			sb.WriteByte('\t')
		}
		sb.WriteString(L.ToStringMeta(L.Get(i)).String())
	}
	sb.WriteByte('\n')
	b.host.Print(sb.String())
	return 0
}

// HasInit reports whether the class has an init hook (see host.Behaviour).
func (b *actor) HasInit() bool {
	_, ok := b.method("init").(*lua.LFunction)
	return ok
}

// method looks name up in the class and, for inheritance, in the tables
// its metatables name as __index (tables only: no Lua code runs here).
func (b *actor) method(name string) lua.LValue {
	t := b.class
	for range 16 {
		if v := t.RawGetString(name); v != lua.LNil {
			return v
		}
		mt, ok := t.Metatable.(*lua.LTable)
		if !ok {
			return lua.LNil
		}
		if t, ok = mt.RawGetString("__index").(*lua.LTable); !ok {
			return lua.LNil
		}
	}
	return lua.LNil
}

// commands lists the commands the actor understands: its class's handlers
// (inherited ones too) and the built-ins, sorted.
func (b *actor) commands() host.Array {
	seen := map[string]bool{"set_params": true, "get_params": true, "get_commands": true}
	t := b.class
	for range 16 {
		t.ForEach(func(k, v lua.LValue) {
			if name, ok := k.(lua.LString); ok && isCommand(string(name)) {
				if _, fn := v.(*lua.LFunction); fn {
					seen[string(name)] = true
				}
			}
		})
		mt, ok := t.Metatable.(*lua.LTable)
		if !ok {
			break
		}
		if t, ok = mt.RawGetString("__index").(*lua.LTable); !ok {
			break
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sortStrings(names)
	out := make(host.Array, len(names))
	for i, n := range names {
		out[i] = n
	}
	return out
}

// Eval runs code in the actor's state with self in scope: as an expression
// if it is one ("self.index"), otherwise as statements ("return self.index").
// The value is converted like a reply body; what has no JSON form (a
// function, say) comes back as its tostring.
func (b *actor) Eval(_ *host.Actor, code string) (any, error) {
	L := b.L
	fn, err := L.LoadString("return " + code)
	if err != nil {
		if fn, err = L.LoadString(code); err != nil {
			return nil, fmt.Errorf("%w: %v", host.ErrBadRequest, err)
		}
	}
	env := L.CreateTable(0, 1)
	env.RawSetString("self", b.self)
	mt := L.CreateTable(0, 1)
	mt.RawSetString("__index", L.G.Global)
	env.Metatable = mt
	fn.Env = env
	L.Push(fn)
	if err := L.PCall(0, 1, nil); err != nil {
		return nil, luaError(err)
	}
	v := L.Get(-1)
	L.Pop(1)
	out, err := b.fromLua(v, "result")
	if err != nil {
		return L.ToStringMeta(v).String(), nil
	}
	return out, nil
}

// noteParams tells the head the actor's params (see host.Actor.NoteParams).
// Params that cannot be converted (a handler made one contain itself) are
// logged: the head keeps what it noted last.
func (b *actor) noteParams() {
	params, err := b.Params()
	if err != nil {
		b.host.Logger().Warn("params are not noted for a restart", "error", err.Error())
		return
	}
	b.host.NoteParams(params)
}

// Params returns the declared params as name: value (host.ParamsGetter),
// for recreate_actor.
func (b *actor) Params() (host.Object, error) {
	list, err := b.paramsValue()
	if err != nil {
		return nil, err
	}
	params := make(host.Object, 0, len(list))
	for _, p := range list {
		o := p.(host.Object)
		v, _ := o.Get("value")
		params = append(params, host.Field{Key: o.String("name"), Value: v})
	}
	return params, nil
}
