package luart

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/peacepie/peacepie/host"
)

// defaultAskTimeout is the timeout of pp.ask and pp.ask_all when none is given.
const defaultAskTimeout = 10 * time.Second

// moduleFunctions are the functions of the module "peacepie". They are
// shared by all states and find their actor with actorOf.
var moduleFunctions = map[string]func(*actor, *lua.LState) int{
	"send":    (*actor).luaSend,
	"ask":     (*actor).luaAsk,
	"ask_all": (*actor).luaAskAll,
	"sleep":   (*actor).luaSleep,
	"every":   (*actor).luaEvery,
	"after":   (*actor).luaAfter,
	"cancel":  (*actor).luaCancel,
	"name":    func(b *actor, L *lua.LState) int { L.Push(lua.LString(b.host.Name())); return 1 },
	"node":    func(b *actor, L *lua.LState) int { L.Push(lua.LString(b.host.Node())); return 1 },
	"array":   (*actor).luaArray,
	"clock": func(_ *actor, L *lua.LState) int {
		L.Push(lua.LNumber(time.Since(clockBase).Seconds()))
		return 1
	},
}

// clockBase is where pp.clock counts from: the start of the OS process.
var clockBase = time.Now()

// shared turns a method into a function any actor's state can call.
func shared(f func(*actor, *lua.LState) int) lua.LGFunction {
	return func(L *lua.LState) int { return f(actorOf(L), L) }
}

// buildModule makes the shared table behind require "peacepie", in the
// template state T, and the metatable of each actor's peacepie.log.
// Actors see both only through tables of their own (rawset on a shared
// table would change it for everybody).
func buildModule(T *lua.LState, null *lua.LUserData) (module, logMT *lua.LTable) {
	m := T.CreateTable(0, len(moduleFunctions)+2)
	for name, fn := range moduleFunctions {
		m.RawSetString(name, T.NewFunction(shared(fn)))
	}
	m.RawSetString("null", null)
	log := T.CreateTable(0, 4)
	for name, level := range map[string]slog.Level{
		"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError,
	} {
		log.RawSetString(name, T.NewFunction(shared(luaLog(level))))
	}
	return m, protectedIndex(T, log)
}

// checkAddress reads argument n as a recipient: a name or {node, entity}.
func (b *actor) checkAddress(L *lua.LState, n int) host.Address {
	v := L.Get(n)
	var hv any
	switch x := v.(type) {
	case lua.LString:
		if string(x) == b.lastTo && x != "" { // an actor mostly sends to the same few
			return b.lastAddr
		}
		a, err := host.ParseAddress(string(x))
		if err != nil {
			L.ArgError(n, err.Error())
		}
		b.lastTo, b.lastAddr = string(x), a
		return a
	case *lua.LTable:
		var err error
		if hv, err = b.fromLua(x, "recipient"); err != nil {
			L.ArgError(n, err.Error())
		}
	default:
		L.ArgError(n, "recipient must be a name or {node = ..., entity = ...}, not "+v.Type().String())
	}
	a, err := host.AddressFromValue(hv)
	if err != nil {
		L.ArgError(n, err.Error())
	}
	return a
}

func (b *actor) checkBody(L *lua.LState, n int) any {
	v, err := b.fromLua(L.Get(n), "body")
	if err != nil {
		L.ArgError(n, err.Error())
	}
	return v
}

func checkSeconds(L *lua.LState, n int, def time.Duration) time.Duration {
	if L.Get(n) == lua.LNil {
		return def
	}
	f := float64(L.CheckNumber(n))
	if f < 0 || f > 1e9 || f != f {
		L.ArgError(n, "seconds must be a number >= 0")
	}
	return time.Duration(f * float64(time.Second))
}

// pp.send(to, command, body) → true | nil, err
func (b *actor) luaSend(L *lua.LState) int {
	to := b.checkAddress(L, 1)
	cmd := L.CheckString(2)
	body := b.sendBody(L, 3, to)
	if err := b.host.Send(to, cmd, body); err != nil {
		L.Push(lua.LNil)
		L.Push(lua.LString(err.Error()))
		return 2
	}
	L.Push(lua.LTrue)
	return 1
}

// pp.ask(to, command, body, timeout) → reply | nil, err
func (b *actor) luaAsk(L *lua.LState) int {
	to := b.checkAddress(L, 1)
	cmd := L.CheckString(2)
	body := b.sendBody(L, 3, to)
	timeout := checkSeconds(L, 4, defaultAskTimeout)
	r, err := b.host.Ask(to, cmd, body, timeout)
	if err != nil {
		L.Push(lua.LNil)
		L.Push(lua.LString(askErrorText(err, r)))
		return 2
	}
	L.Push(b.replyTable(&r))
	return 1
}

func askErrorText(err error, r host.Message) string {
	if errors.Is(err, host.ErrNoActor) || errors.Is(err, host.ErrNoProcess) {
		return "actor_is_not_found: " + err.Error()
	}
	if errors.Is(err, host.ErrMailboxFull) {
		return "mailbox_is_full: " + err.Error()
	}
	return err.Error()
}

// replyTable is what ask returns: {command = ..., body = ...}.
func (b *actor) replyTable(m *host.Message) *lua.LTable {
	t := b.L.CreateTable(0, 2)
	t.RawSetString("command", lua.LString(m.Command))
	if m.Body != nil {
		t.RawSetString("body", b.toLua(m.Body))
	}
	return t
}

// pp.ask_all({{to, command, body}, ...}, timeout) → replies, failures
func (b *actor) luaAskAll(L *lua.LState) int {
	list := L.CheckTable(1)
	timeout := checkSeconds(L, 2, defaultAskTimeout)
	n := list.Len()
	reqs := make([]host.Message, n)
	for i := 1; i <= n; i++ {
		rt, ok := list.RawGetInt(i).(*lua.LTable)
		if !ok {
			L.ArgError(1, fmt.Sprintf("request %d must be a table {to, command, body}", i))
		}
		L.Push(rt.RawGetInt(1))
		to := b.checkAddress(L, L.GetTop())
		L.Pop(1)
		cmd, ok := rt.RawGetInt(2).(lua.LString)
		if !ok {
			L.ArgError(1, fmt.Sprintf("request %d: the command (second element) must be a string", i))
		}
		body, err := b.fromLua(rt.RawGetInt(3), "body")
		if err != nil {
			L.ArgError(1, fmt.Sprintf("request %d: %s", i, err.Error()))
		}
		reqs[i-1] = host.Message{Command: string(cmd), Body: body, Recipient: to}
	}
	results := b.host.AskAll(reqs, timeout)
	out := L.CreateTable(n, 0)
	failures := 0
	for i, r := range results {
		if r.Err != nil {
			failures++
			e := L.CreateTable(0, 2)
			e.RawSetString("command", lua.LString("error"))
			body := L.CreateTable(0, 1)
			body.RawSetString("message", lua.LString(askErrorText(r.Err, r.Reply)))
			e.RawSetString("body", body)
			out.RawSetInt(i+1, e)
			continue
		}
		out.RawSetInt(i+1, b.replyTable(&r.Reply))
	}
	out.Metatable = b.arrayMT
	L.Push(out)
	L.Push(lua.LNumber(failures))
	return 2
}

// pp.sleep(seconds)
func (b *actor) luaSleep(L *lua.LState) int {
	d := checkSeconds(L, 1, 0)
	err := b.host.Sleep(d)
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	return 0
}

func (b *actor) timerArgs(L *lua.LState) (time.Duration, string, any) {
	d := checkSeconds(L, 1, 0)
	if d < time.Millisecond {
		L.ArgError(1, "the period must be at least 0.001 seconds")
	}
	cmd := L.CheckString(2)
	if cmd == "" {
		L.ArgError(2, "the command must not be empty")
	}
	return d, cmd, b.checkBody(L, 3)
}

// pp.every(seconds, command, body) → timer
func (b *actor) luaEvery(L *lua.LState) int {
	d, cmd, body := b.timerArgs(L)
	L.ChargeMemory(int(host.TimerCost + host.ValueSize(body)))
	L.Push(lua.LNumber(b.host.Every(d, cmd, body)))
	return 1
}

// pp.after(seconds, command, body) → timer
func (b *actor) luaAfter(L *lua.LState) int {
	d, cmd, body := b.timerArgs(L)
	L.ChargeMemory(int(host.TimerCost + host.ValueSize(body)))
	L.Push(lua.LNumber(b.host.After(d, cmd, body)))
	return 1
}

// pp.cancel(timer) → true if it was active
func (b *actor) luaCancel(L *lua.LState) int {
	if L.Get(1) == lua.LNil {
		L.Push(lua.LFalse)
		return 1
	}
	L.Push(lua.LBool(b.host.CancelTimer(int(L.CheckInt(1)))))
	return 1
}

// pp.array(t) marks t as a JSON array (so an empty t is sent as []).
func (b *actor) luaArray(L *lua.LState) int {
	t := L.OptTable(1, L.CreateTable(0, 0))
	t.Metatable = b.arrayMT
	L.Push(t)
	return 1
}

func luaLog(level slog.Level) func(*actor, *lua.LState) int {
	return func(b *actor, L *lua.LState) int {
		n := L.GetTop()
		parts := make([]string, n)
		for i := 1; i <= n; i++ {
			parts[i-1] = L.ToStringMeta(L.Get(i)).String()
		}
		b.host.Logger().Log(b.host.Context(), level, strings.Join(parts, " "))
		return 0
	}
}
