package cluster_test

import (
	"context"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/peacepie/peacepie/cluster"
	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/internal/testhost"
	"github.com/peacepie/peacepie/net/link"
)

// TestChildGoThreads: a child runs on the threads its head gives it
// (go_threads), and a go_threads with a bad body is logged and changes
// nothing.
func TestChildGoThreads(t *testing.T) {
	start := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(start) })
	logs := &testhost.Output{}
	p := testhost.Start(t, host.Config{Host: "first", Process: "process_0", Logger: slog.New(slog.NewTextHandler(logs, nil))})
	secret := []byte("s3cret-s3cret-s3cret-s3cret-s3cret")
	ln, err := link.Listen("127.0.0.1:0", link.Config{Node: "first.main.admin", Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	heads := make(chan *link.Conn, 1)
	go ln.Serve(func(c *link.Conn) {
		heads <- c
		c.Run(func([]byte, bool) {})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := link.Dial(ctx, ln.Addr(), link.Config{Node: p.AdminName(), Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	c := cluster.NewChild(p.Process, conn, p.Logger())
	p.SetRemote(c)
	go c.Run()
	head := <-heads
	t.Cleanup(func() { head.Close("test over") })
	// The head's system code sends its notices in control frames; "sys"
	// in a message frame's JSON means nothing.
	sendAs := func(control bool, body string) {
		t.Helper()
		payload := `{"command":"go_threads","recipient":{"node":"first.process_0.admin"},"body":` + body + `,"sys":true}`
		send := head.Send
		if control {
			send = func(p []byte) error {
				return head.SendControl(func(b []byte) ([]byte, error) { return append(b, p...), nil })
			}
		}
		if err := send([]byte(payload)); err != nil {
			t.Fatal(err)
		}
	}
	send := func(body string) { t.Helper(); sendAs(true, body) }
	bad := []string{`"x"`, `null`, `{}`, `{"n": 0}`, `{"n": -3}`, `{"n": 1.5}`, `{"n": "2"}`, `{"n": 100000}`}
	for _, b := range bad {
		send(b)
	}
	want := start + 1
	send(`{"n": ` + strconv.Itoa(want) + `}`)
	testhost.Eventually(t, 5*time.Second, "the child to take the head's share", func() bool { return runtime.GOMAXPROCS(0) == want })
	// Without the mark it is an actor's message that the head routed here:
	// the admin answers it is_not_handled, and the threads stay.
	sendAs(false, `{"n": `+strconv.Itoa(want+1)+`}`)
	send(`"last"`)
	testhost.Eventually(t, 5*time.Second, "the last bad go_threads to be logged", func() bool {
		return strings.Count(logs.String(), "bad go_threads from the head") == len(bad)+1
	})
	if got := runtime.GOMAXPROCS(0); got != want {
		t.Errorf("go_threads in a message frame changed the threads to %d", got)
	}
	r := p.Ask(t, "first.process_0.admin", "get_processes", nil)
	procs, _ := r.Body.(host.Object).Get("processes")
	if got, _ := procs.(host.Array)[0].(host.Object).Get("go_threads"); got != int64(want) {
		t.Errorf("get_processes says go_threads %v, want %d", got, want)
	}
}
