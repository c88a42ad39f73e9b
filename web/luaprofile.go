package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/peacepie/peacepie/host"
)

// /debug/lua-profile?actor=NAME|package=PKG&seconds=N[&interval_ms=M]: the
// Lua profiler's collapsed stacks (profile_lua of the host's main admin,
// which passes an actor's profile on to its process), as text/plain that
// speedscope and flamegraph.pl read; behind the token. A package is
// profiled in the main process only.
func (s *Server) serveLuaProfile(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	body := host.Object{}
	for _, key := range []string{"actor", "package"} {
		if v := q.Get(key); v != "" {
			body = append(body, host.Field{Key: key, Value: v})
		}
	}
	seconds := 5.0
	for _, key := range []string{"seconds", "interval_ms"} {
		v := q.Get(key)
		if v == "" {
			continue
		}
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			http.Error(w, fmt.Sprintf("%s must be a number, not %q", key, v), http.StatusBadRequest)
			return
		}
		if key == "seconds" {
			seconds = n
		}
		body = append(body, host.Field{Key: key, Value: n})
	}
	if seconds > host.MaxProfileDuration.Seconds() {
		seconds = host.MaxProfileDuration.Seconds() // refused below, with the admin's words
	}
	timeout := time.Duration(seconds*float64(time.Second)) + 5*time.Second
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	reply, err := s.cfg.Gateway.Ask(ctx, host.Message{Command: "profile_lua", Recipient: host.Address{Node: s.cfg.Gateway.AdminName()}, Body: body}, timeout)
	if err != nil {
		http.Error(w, "profile_lua: "+err.Error(), http.StatusGatewayTimeout)
		return
	}
	o, _ := reply.Body.(host.Object)
	if reply.Command != "lua_profile" {
		msg := o.String("message")
		if msg == "" {
			msg = reply.Command + ": " + o.String("entity")
		}
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprint(w, o.String("collapsed"))
}
