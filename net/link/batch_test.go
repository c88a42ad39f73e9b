package link

import (
	"bytes"
	"net"
	"testing"

	"github.com/peacepie/peacepie/net/wire"
)

// testSecret is a secret of the format peacepie makes (64 hex digits).
const testSecret = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

// recorder is the link's output in TestSenderWritesFullBatches: it keeps
// the size of each write.
type recorder struct{ writes []int }

func (r *recorder) Write(b []byte) (int, error) {
	r.writes = append(r.writes, len(b))
	return len(b), nil
}

// TestSenderWritesFullBatches: when frames pile up and the writer does not
// come (with one thread for Go code it waits until the sender yields), the
// sender writes each directBatch of them itself, instead of letting the
// buffer grow by megabytes.
func TestSenderWritesFullBatches(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	cfg := Config{Node: "first.main.admin", Secret: []byte(testSecret)}
	cfg.defaults()
	c := newConn(cfg, a, b, "first.process_0.admin")
	out := &recorder{}
	c.out = out // as Run sets it, but no writer goroutine runs
	payload := bytes.Repeat([]byte("x"), 1000)
	const n = 1000
	for i := 0; i < n; i++ {
		if err := c.Send(payload); err != nil {
			t.Fatal(err)
		}
	}
	frame := len(payload) + wire.HeaderSize
	written := 0
	for i, w := range out.writes {
		// A frame on an idle link is written at once (directGap).
		if w != frame && (w < directBatch || w > directBatch+frame) {
			t.Errorf("write %d of %d bytes, want one frame (%d) or a batch of %d to %d", i, w, frame, directBatch, directBatch+frame)
		}
		written += w
	}
	if written+c.filled != n*frame {
		t.Errorf("%d bytes written and %d pending, want %d in all", written, c.filled, n*frame)
	}
	if c.filled >= directBatch {
		t.Errorf("%d writes and %d bytes pending: the sender did not write its full batches", len(out.writes), c.filled)
	}
}
