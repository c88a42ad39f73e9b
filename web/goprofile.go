package web

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/peacepie/peacepie/host"
)

// /debug/pprof/node/NODE/PROFILE[?seconds=N]: the Go profile PROFILE
// (heap, allocs, goroutine, block, mutex, threadcreate, or profile: the
// CPU for N seconds, 10 by default) of any process of the system, asked
// of its admin (get_go_profile), in pprof's format; behind the token. So
// `go tool pprof` reads a child's profiles as it reads the main process's.
func (s *Server) serveNodeProfile(w http.ResponseWriter, r *http.Request) {
	node, name := r.PathValue("node"), r.PathValue("profile")
	seconds := 10.0
	if v := r.URL.Query().Get("seconds"); v != "" {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			http.Error(w, "seconds must be a number, not "+strconv.Quote(v), http.StatusBadRequest)
			return
		}
		seconds = n
	}
	body := host.Object{{Key: "profile", Value: name}}
	wait := 10 * time.Second
	if name == "profile" {
		body = append(body, host.Field{Key: "seconds", Value: seconds})
		if seconds > 0 && seconds <= host.MaxProfileDuration.Seconds() {
			wait += time.Duration(seconds * float64(time.Second))
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	reply, err := s.cfg.Gateway.Ask(ctx, host.Message{Command: "get_go_profile", Recipient: host.Address{Node: node}, Body: body}, wait)
	if err != nil {
		code := http.StatusBadGateway
		if errors.Is(err, host.ErrNoProcess) {
			code = http.StatusNotFound
		}
		http.Error(w, "get_go_profile: "+err.Error(), code)
		return
	}
	o, _ := reply.Body.(host.Object)
	if reply.Command != "go_profile" {
		msg := o.String("message")
		if msg == "" {
			msg = reply.Command
		}
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	data, err := base64.StdEncoding.DecodeString(o.String("data"))
	if err != nil {
		http.Error(w, "the profile does not decode: "+err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Write(data)
}
