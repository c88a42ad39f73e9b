package luart

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode"

	lua "github.com/yuin/gopher-lua"
	luar "layeh.com/gopher-luar"
)

// Services are the Go values a system offers its Lua actors: an actor
// gets one with require "<name>" if the repo list grants it to the
// actor's package (services = ["<name>"] in the package's entry). Nothing
// is reachable by default.
//
// What an actor gets, converted by gopher-luar (layeh.com/gopher-luar):
//
//   - a function: a Lua function;
//   - a struct or a pointer to one: a read-only table of its exported
//     methods (each under its name and its name with a lowercase first
//     letter; call them with a dot or a colon); its fields are not exposed;
//   - a map with string keys: a read-only table of its entries as they are
//     at the require, functions as above, other values converted by
//     gopher-luar.
//
// A function or method whose first parameter is a context.Context gets
// the actor's context, done when the actor stops or moves or the process
// exits; a call blocks only its actor and does not count against the
// handler's time budget (host.Actor.Blocking). A panic in a call is a Lua
// error in the handler. Values a call returns are converted by
// gopher-luar: a pointer, map or slice becomes a reference to the Go
// value, which Lua code can change; a service that must not be changed
// returns copies or plain values (strings, numbers, booleans).
//
// A service is called from many actors' goroutines at once, each with a
// Lua state of its own: it must be safe for concurrent use.
type Services struct {
	values  map[string]reflect.Value
	granted func(pkg string) []string
}

// serviceName is what a service may be called: a name require can take
// that is not a module path.
var serviceName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)

// ErrBadService reports a service that cannot be offered.
var ErrBadService = errors.New("bad service")

// ErrNotGranted reports a require of a service the package is not granted.
var ErrNotGranted = errors.New("service is not granted")

// NewServices checks values (name → a function, a struct, a pointer to a
// struct or a map with string keys) and returns them as Services;
// granted returns the services a package may require (nil: none).
func NewServices(values map[string]any, granted func(pkg string) []string) (*Services, error) {
	s := &Services{values: make(map[string]reflect.Value, len(values)), granted: granted}
	for name, v := range values {
		if !serviceName.MatchString(name) || name == "peacepie" {
			return nil, fmt.Errorf("%w: %q: a service's name starts with a letter and holds letters, digits, _ and - (and is not peacepie)", ErrBadService, name)
		}
		rv := reflect.ValueOf(v)
		switch {
		case !rv.IsValid():
			return nil, fmt.Errorf("%w: %q is nil", ErrBadService, name)
		case rv.Kind() == reflect.Func, rv.Kind() == reflect.Struct,
			rv.Kind() == reflect.Pointer && rv.Elem().Kind() == reflect.Struct,
			rv.Kind() == reflect.Map && rv.Type().Key().Kind() == reflect.String:
		default:
			return nil, fmt.Errorf("%w: %q is a %s: offer a function, a struct (or a pointer to one) or a map with string keys", ErrBadService, name, rv.Type())
		}
		if (rv.Kind() == reflect.Func || rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Map) && rv.IsNil() {
			return nil, fmt.Errorf("%w: %q is nil", ErrBadService, name)
		}
		s.values[name] = rv
	}
	return s, nil
}

// Names returns the services' names, sorted.
func (s *Services) Names() []string {
	if s == nil {
		return nil
	}
	names := make([]string, 0, len(s.values))
	for n := range s.values {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// SetServices gives the runtime's actors the services (call it before
// any actor is made; nil: none).
func (rt *Runtime) SetServices(s *Services) { rt.services = s }

// service returns the service name for the actor, if the runtime has it
// (ok false: there is none of that name).
func (b *actor) service(name string) (v lua.LValue, ok bool, err error) {
	s := b.cls.rt.services
	if s == nil {
		return nil, false, nil
	}
	rv, ok := s.values[name]
	if !ok {
		return nil, false, nil
	}
	pkg := b.cls.pkg.pkg.Manifest.Name
	if s.granted == nil || !slices.Contains(s.granted(pkg), name) {
		return nil, true, fmt.Errorf("%w: package %s may not require the service %q (grant it in the repo list: services = [%q] in the entry of %s)",
			ErrNotGranted, pkg, name, name, pkg)
	}
	return b.bridge(name, rv), true, nil
}

// bridge makes the Lua value of a service for this actor.
func (b *actor) bridge(name string, rv reflect.Value) lua.LValue {
	L := b.L
	switch rv.Kind() {
	case reflect.Func:
		return b.wrapCall(name, rv, nil)
	case reflect.Map:
		t := L.CreateTable(0, rv.Len())
		proxy := readOnly(L, t, name)
		iter := rv.MapRange()
		for iter.Next() {
			k, e := iter.Key().String(), iter.Value()
			for e.Kind() == reflect.Interface && !e.IsNil() {
				e = e.Elem()
			}
			if e.Kind() == reflect.Func && !e.IsNil() {
				t.RawSetString(k, b.wrapCall(name+"."+k, e, proxy))
			} else if e.IsValid() {
				t.RawSetString(k, luar.New(L, e.Interface()))
			}
		}
		return proxy
	}
	t := L.CreateTable(0, rv.NumMethod()*2)
	proxy := readOnly(L, t, name)
	typ := rv.Type()
	for i := range rv.NumMethod() {
		m := typ.Method(i)
		fn := b.wrapCall(name+"."+m.Name, rv.Method(i), proxy)
		t.RawSetString(m.Name, fn)
		if lower := lowerFirst(m.Name); lower != m.Name {
			t.RawSetString(lower, fn)
		}
	}
	return proxy
}

// readOnly returns a table that reads t and refuses writes.
func readOnly(L *lua.LState, t *lua.LTable, name string) *lua.LTable {
	proxy := L.CreateTable(0, 0)
	mt := L.CreateTable(0, 4)
	mt.RawSetString("__index", t)
	mt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("the service %q is read-only", name)
		return 0
	}))
	mt.RawSetString("__metatable", lua.LString("service "+name))
	proxy.Metatable = mt
	return proxy
}

// wrapCall returns the Lua function that calls fn for the actor (adapted:
// the actor's context first if fn takes one, an error last as its text),
// the call blocking only the actor and off its budget. self, when not
// nil, is the service's table: a call with a colon passes it first, and
// it is dropped.
func (b *actor) wrapCall(name string, fn reflect.Value, self *lua.LTable) *lua.LFunction {
	inner := luar.New(b.L, adapt(fn, b.serviceContext).Interface())
	return b.L.NewFunction(func(L *lua.LState) int {
		if self != nil && L.GetTop() >= 1 && L.Get(1) == self {
			L.Remove(1)
		}
		n := L.GetTop()
		L.Insert(inner, 1)
		var err error
		b.host.Blocking(func() { err = L.PCall(n, lua.MultRet, nil) })
		if err != nil {
			L.RaiseError("%s: %s", name, serviceError(err))
		}
		return L.GetTop()
	})
}

// serviceContext is the context a service call gets: done when the actor
// stops or a move of it begins, or the process exits
// (host.Actor.BlockingContext), saying who calls (CallerOf).
func (b *actor) serviceContext() context.Context {
	return context.WithValue(b.host.BlockingContext(), callerKey{}, Caller{Package: b.cls.pkg.pkg.Manifest.Name, Actor: b.host.Name()})
}

var (
	contextType = reflect.TypeFor[context.Context]()
	errorType   = reflect.TypeFor[error]()
	anyType     = reflect.TypeFor[any]()
)

// adapt returns fn as Lua calls it: without its first parameter if that
// is a context.Context (ctx gives it at each call), and with a last
// result of type error turned into its text (nil when there is none).
// Other functions are returned as they are.
func adapt(fn reflect.Value, ctx func() context.Context) reflect.Value {
	t := fn.Type()
	takesCtx := t.NumIn() > 0 && t.In(0) == contextType
	givesErr := t.NumOut() > 0 && t.Out(t.NumOut()-1) == errorType
	if !takesCtx && !givesErr {
		return fn
	}
	first := 0
	if takesCtx {
		first = 1
	}
	in := make([]reflect.Type, 0, t.NumIn())
	for i := first; i < t.NumIn(); i++ {
		in = append(in, t.In(i))
	}
	out := make([]reflect.Type, 0, t.NumOut())
	for i := range t.NumOut() {
		out = append(out, t.Out(i))
	}
	if givesErr {
		out[len(out)-1] = anyType
	}
	ft := reflect.FuncOf(in, out, t.IsVariadic())
	return reflect.MakeFunc(ft, func(args []reflect.Value) []reflect.Value {
		if takesCtx {
			args = append([]reflect.Value{reflect.ValueOf(ctx())}, args...)
		}
		var res []reflect.Value
		if t.IsVariadic() {
			res = fn.CallSlice(args)
		} else {
			res = fn.Call(args)
		}
		if givesErr {
			last := reflect.New(anyType).Elem() // nil
			if err, _ := res[len(res)-1].Interface().(error); err != nil {
				last.Set(reflect.ValueOf(err.Error()))
			}
			res[len(res)-1] = last
		}
		return res
	})
}

// serviceError is the text of a failed service call: the Lua error's
// message, without gopher-lua's stack of a Go panic.
func serviceError(err error) string {
	msg := err.Error()
	var apiErr *lua.ApiError
	if errors.As(err, &apiErr) && apiErr.Object != nil {
		msg = apiErr.Object.String()
	}
	if i := strings.Index(msg, "\nstack traceback:"); i >= 0 {
		msg = msg[:i]
	}
	return msg
}

func lowerFirst(s string) string {
	r := []rune(s)
	r[0] = unicode.ToLower(r[0])
	return string(r)
}

// serviceList names the services for an error ("none" when there are none).
func serviceList(s *Services) string {
	if names := s.Names(); len(names) > 0 {
		return strings.Join(names, ", ")
	}
	return "none"
}
