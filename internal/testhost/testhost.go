// Package testhost starts a peacepie process inside a test and polls for
// conditions with a deadline.
package testhost

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peacepie/peacepie/actors"
	"github.com/peacepie/peacepie/examples"
	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/luart"
	"github.com/peacepie/peacepie/repo"
)

// Output collects what actors print; safe for concurrent use.
type Output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

// String returns everything printed so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// Process is a process made for a test, with the built-in packages and any
// extra package trees.
type Process struct {
	*host.Process
	Out *Output
}

// Start starts a process that is shut down when the test ends. cfg may set
// Budget and other fields; Resolver and Output are filled in, and Grants
// when it is nil (peacepie_example gets every admin command, as in
// peacepie run).
func Start(t testing.TB, cfg host.Config, extra ...fs.FS) *Process {
	t.Helper()
	cfg, out, err := Config(cfg, extra...)
	if err != nil {
		t.Fatal(err)
	}
	p, err := host.NewProcess(cfg)
	if err != nil {
		t.Fatalf("new process: %v", err)
	}
	t.Cleanup(func() {
		p.Shutdown()
		select {
		case <-p.Done():
		case <-time.After(10 * time.Second):
			t.Errorf("process did not shut down")
		}
	})
	return &Process{Process: p, Out: out}
}

// Config fills in what Start fills in: a Resolver of the built-in
// packages and the extra trees, an Output it returns, Grants when nil
// (peacepie_example gets every admin command) and a Logger that discards
// when nil. For processes a test starts itself (clustertest's children).
func Config(cfg host.Config, extra ...fs.FS) (host.Config, *Output, error) {
	src, err := repo.NewEmbedded(append([]fs.FS{examples.PeacepieExample(), actors.Std()}, extra...)...)
	if err != nil {
		return cfg, nil, fmt.Errorf("packages: %w", err)
	}
	out := &Output{}
	cfg.Resolver = luart.NewRuntime(src)
	cfg.Output = out
	if cfg.Grants == nil { // as peacepie run grants them without a repo list
		cfg.Grants = func(pkg string) []string {
			if pkg == "peacepie_example" {
				return examples.Admin
			}
			return nil
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return cfg, out, nil
}

// Ask asks recipient (a name or admin name) and fails the test on a
// transport error; replies such as error or is_not_handled are returned.
func (p *Process) Ask(t testing.TB, recipient, command string, body any) host.Message {
	t.Helper()
	to, err := host.ParseAddress(recipient)
	if err != nil {
		t.Fatal(err)
	}
	r, err := p.Process.Ask(context.Background(), host.Message{Command: command, Body: body, Recipient: to}, 10*time.Second)
	if err != nil && r.Command == "" {
		t.Fatalf("ask %s %s: %v", recipient, command, err)
	}
	return r
}

// MustJSON parses a JSON body for a test.
func MustJSON(t testing.TB, s string) any {
	t.Helper()
	v, err := host.UnmarshalValue([]byte(s))
	if err != nil {
		t.Fatalf("bad JSON in test: %v", err)
	}
	return v
}

// Eventually polls cond every 10ms until it holds or timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Contains reports whether the output holds s.
func (p *Process) Printed(s string) bool { return strings.Contains(p.Out.String(), s) }
