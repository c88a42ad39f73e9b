package link_test

import (
	"context"
	"testing"

	"github.com/peacepie/peacepie/net/link"
)

// body is a small message, about what a tick with a {n, s} body takes.
var body = []byte(`{"mid":"first.main.12345","command":"msg","body":{"n":12345,"s":"hello"},"recipient":"sink"}`)

func pair(b *testing.B, onServer func(c *link.Conn, p []byte)) *link.Conn {
	b.Helper()
	ln, err := link.Listen("127.0.0.1:0", link.Config{Node: "first.main.admin", Secret: []byte(testSecret)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go ln.Serve(func(c *link.Conn) { c.Run(func(p []byte, _ bool) { onServer(c, p) }) })
	c, err := link.Dial(context.Background(), ln.Addr(), link.Config{Node: "first.process_0.admin", Secret: []byte(testSecret)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close("done") })
	return c
}

// BenchmarkLinkFrameSend: one side streams message frames, the other counts
// them (frames only: no actors, no JSON decoding).
func BenchmarkLinkFrameSend(b *testing.B) {
	got := make(chan struct{})
	n := 0
	c := pair(b, func(_ *link.Conn, _ []byte) {
		n++
		if n == b.N {
			close(got)
		}
	})
	go c.Run(func([]byte, bool) {})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := c.Send(body); err != nil {
			b.Fatal(err)
		}
	}
	<-got
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkLinkFramePingPong: one frame in flight, echoed back.
func BenchmarkLinkFramePingPong(b *testing.B) {
	c := pair(b, func(c *link.Conn, p []byte) { c.Send(p) })
	back := make(chan struct{}, 1)
	go c.Run(func([]byte, bool) { back <- struct{}{} })
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := c.Send(body); err != nil {
			b.Fatal(err)
		}
		<-back
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "round-trips/s")
}
