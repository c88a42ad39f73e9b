package wire_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/peacepie/peacepie/net/wire"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// The golden files pin the wire format: a change to them is a protocol change.
func TestGoldenFrames(t *testing.T) {
	tests := []struct {
		name    string
		kind    wire.Kind
		payload string
	}{
		{"message", wire.KindMessage, `{"mid":"first.main.7","command":"tick","body":{"n":1,"s":"hi"},"recipient":"hello_world"}`},
		{"ping", wire.KindPing, ""},
		{"bye", wire.KindBye, "exit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := wire.AppendFrame(nil, tt.kind, []byte(tt.payload), wire.DefaultMaxFrame)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tt.name+".golden")
			if *update {
				os.WriteFile(path, []byte(hex.Dump(got)), 0o644)
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if hex.Dump(got) != string(want) {
				t.Fatalf("frame differs from %s:\n%s\nwant:\n%s", path, hex.Dump(got), want)
			}
			f, err := wire.NewReader(bytes.NewReader(got), wire.DefaultMaxFrame).ReadFrame()
			if err != nil || f.Kind != tt.kind || string(f.Payload) != tt.payload {
				t.Fatalf("read back %v %q %v", f.Kind, f.Payload, err)
			}
		})
	}
}

func frame(t *testing.T, k wire.Kind, p string) []byte {
	t.Helper()
	f, err := wire.AppendFrame(nil, k, []byte(p), wire.DefaultMaxFrame)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestReadFrameErrors(t *testing.T) {
	good := frame(t, wire.KindMessage, "hello")
	wrongLength := append([]byte{}, good...)
	wrongLength[5] = 200 // claims 200 bytes, has 5
	tests := []struct {
		name  string
		input []byte
		max   int
		want  error
	}{
		{"garbage", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 0, wire.ErrVersion},
		{"wrong version", append([]byte{9}, good[1:]...), 0, wire.ErrVersion},
		{"unknown kind", append([]byte{wire.Version, 77}, good[2:]...), 0, wire.ErrKind},
		{"truncated payload", good[:len(good)-2], 0, io.ErrUnexpectedEOF},
		{"wrong length", wrongLength, 0, io.ErrUnexpectedEOF},
		{"truncated header", good[:3], 0, io.ErrUnexpectedEOF},
		{"too large", frame(t, wire.KindMessage, strings.Repeat("x", 100)), 99, wire.ErrTooLarge},
		{"empty stream", nil, 0, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := wire.NewReader(bytes.NewReader(tt.input), tt.max).ReadFrame()
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestAppendFrameTooLarge(t *testing.T) {
	_, err := wire.AppendFrame(nil, wire.KindMessage, make([]byte, 101), 100)
	var tl *wire.TooLargeError
	if !errors.As(err, &tl) || tl.Size != 101 || tl.Max != 100 || !errors.Is(err, wire.ErrTooLarge) {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(err.Error(), "101") {
		t.Fatalf("error %q does not say the size", err)
	}
}

func TestHandshakeProofs(t *testing.T) {
	secret := []byte("s3cret")
	nd, nl := wire.NewNonce(), wire.NewNonce()
	p := wire.Proof(secret, "dialer", nl, nd, "first.process_0.admin")
	if !wire.CheckProof(secret, "dialer", nl, nd, "first.process_0.admin", p) {
		t.Fatal("a right proof is refused")
	}
	for name, ok := range map[string]bool{
		"other secret": wire.CheckProof([]byte("other"), "dialer", nl, nd, "first.process_0.admin", p),
		"other role":   wire.CheckProof(secret, "listener", nl, nd, "first.process_0.admin", p),
		"other node":   wire.CheckProof(secret, "dialer", nl, nd, "first.process_1.admin", p),
		"swapped":      wire.CheckProof(secret, "dialer", nd, nl, "first.process_0.admin", p),
	} {
		if ok {
			t.Errorf("%s: a wrong proof is accepted", name)
		}
	}
	nonce, node, err := wire.ParseHello(wire.Hello(nd, "a.b.admin"))
	if err != nil || !bytes.Equal(nonce, nd) || node != "a.b.admin" {
		t.Fatalf("hello round trip: %v %q %v", nonce, node, err)
	}
	if _, _, err := wire.ParseHello([]byte("short")); err == nil {
		t.Fatal("a short hello is accepted")
	}
	if _, _, _, err := wire.ParseChallenge(make([]byte, 10)); err == nil {
		t.Fatal("a short challenge is accepted")
	}
}

// FuzzReadFrame: no input makes the decoder panic, hang or return a frame
// larger than its limit. The seed corpus is in testdata/fuzz.
func FuzzReadFrame(f *testing.F) {
	seed, _ := wire.AppendFrame(nil, wire.KindMessage, []byte(`{"command":"tick"}`), wire.DefaultMaxFrame)
	f.Add(seed)
	f.Add([]byte{wire.Version, byte(wire.KindPing), 0, 0, 0, 0})
	f.Add([]byte{wire.Version, byte(wire.KindMessage), 255, 255, 255, 255})
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := wire.NewReader(bytes.NewReader(data), 1024)
		for {
			fr, err := r.ReadFrame()
			if err != nil {
				return
			}
			if len(fr.Payload) > 1024 {
				t.Fatalf("a frame of %d bytes passed a limit of 1024", len(fr.Payload))
			}
		}
	})
}

// TestStartFinishFrame: a frame built in place equals AppendFrame's, after
// other frames in the same buffer, and a payload over the limit is refused
// with the buffer cut back to where the frame began.
func TestStartFinishFrame(t *testing.T) {
	payload := []byte(`{"command":"next","body":{"n":1}}`)
	want, _ := wire.AppendFrame([]byte("prefix"), wire.KindMessage, payload, 100)
	f, start := wire.StartFrame([]byte("prefix"), wire.KindMessage)
	f = append(f, payload...)
	got, err := wire.FinishFrame(f, start, 100)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("in place: %q, %v; want %q", got, err, want)
	}
	f, start = wire.StartFrame([]byte("prefix"), wire.KindMessage)
	f = append(f, make([]byte, 101)...)
	got, err = wire.FinishFrame(f, start, 100)
	var tl *wire.TooLargeError
	if !errors.As(err, &tl) || tl.Size != 101 || tl.Max != 100 || string(got) != "prefix" {
		t.Fatalf("over the limit: %q, %v", got, err)
	}
}

func TestFrameBuffered(t *testing.T) {
	f1, _ := wire.AppendFrame(nil, wire.KindMessage, []byte("hello"), wire.DefaultMaxFrame)
	f2, _ := wire.AppendFrame(nil, wire.KindMessage, []byte("world!"), wire.DefaultMaxFrame)
	pr, pw := io.Pipe()
	r := wire.NewReader(pr, wire.DefaultMaxFrame)
	if r.FrameBuffered() {
		t.Fatal("an empty reader has a frame")
	}
	go func() {
		pw.Write(append(append([]byte{}, f1...), f2[:4]...)) // one frame and part of a header
		pw.Write(f2[4:8])                                    // the header and part of the payload
		pw.Write(f2[8:])
	}()
	if _, err := r.ReadFrame(); err != nil {
		t.Fatal(err)
	}
	if r.FrameBuffered() {
		t.Fatal("part of a header counts as a frame")
	}
	if f, err := r.ReadFrame(); err != nil || string(f.Payload) != "world!" {
		t.Fatalf("%q %v", f.Payload, err)
	}
}

// TestPayloadGrowsWithData: a frame that announces 16 MiB and sends a few
// bytes costs about what arrived, not what was announced.
func TestPayloadGrowsWithData(t *testing.T) {
	head := []byte{wire.Version, byte(wire.KindMessage), 1, 0, 0, 0}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := wire.NewReader(io.MultiReader(bytes.NewReader(head), bytes.NewReader(make([]byte, 1000))), wire.DefaultMaxFrame).ReadFrame()
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a truncated 16 MiB frame: %v", err)
	}
	// The Reader's own buffer is 64 KiB; the payload's first step as much.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Fatalf("1000 bytes of a frame announced as 16 MiB allocated %d bytes", grew)
	}
	// A large frame that does arrive is read whole, with what follows it.
	big := bytes.Repeat([]byte("0123456789"), 50_000) // 500 kB: several doublings
	f1, _ := wire.AppendFrame(nil, wire.KindMessage, big, wire.DefaultMaxFrame)
	f2, _ := wire.AppendFrame(nil, wire.KindMessage, []byte("after"), wire.DefaultMaxFrame)
	r := wire.NewReader(bytes.NewReader(append(f1, f2...)), wire.DefaultMaxFrame)
	r.ReuseBuffer()
	if f, err := r.ReadFrame(); err != nil || !bytes.Equal(f.Payload, big) {
		t.Fatalf("a 500 kB frame: %d bytes, %v", len(f.Payload), err)
	}
	if f, err := r.ReadFrame(); err != nil || string(f.Payload) != "after" {
		t.Fatalf("the frame after it: %q %v", f.Payload, err)
	}
}
