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

// goldenSecret is the secret of the golden handshake: the format of the
// secret peacepie makes on first run (64 hex digits).
const goldenSecret = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

// The golden files pin the wire format: a change to them is a protocol change.
//
// The handshake frames are those of a dialer "first.process_0.admin" and a
// listener "first.main.admin" with the nonces 00 01 … 1f (dialer) and
// 20 21 … 3f (listener) and the secret goldenSecret.
func TestGoldenFrames(t *testing.T) {
	nonceD, nonceL := make([]byte, wire.NonceSize), make([]byte, wire.NonceSize)
	for i := range nonceD {
		nonceD[i], nonceL[i] = byte(i), byte(wire.NonceSize+i)
	}
	const dialer, listener = "first.process_0.admin", "first.main.admin"
	tests := []struct {
		name    string
		kind    wire.Kind
		payload string
	}{
		{"message", wire.KindMessage, `{"mid":"first.main.7","command":"tick","body":{"n":1,"s":"hi"},"recipient":"hello_world"}`},
		{"control", wire.KindControl, `{"mid":"first.main.8","command":"process_gone","body":{"node":"first.process_0.admin"},"recipient":{"node":"first.process_1.admin"}}`},
		{"ping", wire.KindPing, ""},
		{"bye", wire.KindBye, "exit"},
		{"hello", wire.KindHello, string(wire.Hello(nonceD, dialer))},
		{"challenge", wire.KindChallenge, string(wire.Challenge(nonceL, listener))},
		{"auth", wire.KindAuth, string(wire.Proof([]byte(goldenSecret), "dialer", nonceL, nonceD, dialer))},
		{"ready", wire.KindReady, string(wire.Proof([]byte(goldenSecret), "listener", nonceD, nonceL, listener))},
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
	if _, _, err := wire.ParseChallenge(make([]byte, 10)); err == nil {
		t.Fatal("a short challenge is accepted")
	}
	nonce, node, err = wire.ParseChallenge(wire.Challenge(nl, "first.main.admin"))
	if err != nil || !bytes.Equal(nonce, nl) || node != "first.main.admin" {
		t.Fatalf("challenge round trip: %v %q %v", nonce, node, err)
	}
	if _, err := wire.ParseProof(wire.KindAuth, p); err != nil {
		t.Fatalf("a proof: %v", err)
	}
	if _, err := wire.ParseProof(wire.KindReady, append(p, 0)); err == nil {
		t.Fatal("a proof of 33 bytes is accepted")
	}
}

// TestHelloNodeNames: a hello's node name is checked, and the error quotes
// at most 64 bytes of it, escaped.
func TestHelloNodeNames(t *testing.T) {
	nonce := wire.NewNonce()
	tests := []struct {
		name, node string
		ok         bool
	}{
		{"admin", "first.process_0.admin", true},
		{"unicode", "première.main.admin", true},
		{"longest", strings.Repeat("a", wire.MaxNodeName), true},
		{"too long", strings.Repeat("a", wire.MaxNodeName+1), false},
		{"NUL bytes", strings.Repeat("\x00", 1000), false},
		{"newline", "first.main.admin\nlevel=ERROR msg=forged", false},
		{"space", "first main", false},
		{"not UTF-8", "first\xff.main.admin", false},
		{"escape", "\x1b[31mred", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got, err := wire.ParseHello(wire.Hello(nonce, tt.node))
			if tt.ok {
				if err != nil || got != tt.node {
					t.Fatalf("got %q, %v", got, err)
				}
				return
			}
			if !errors.Is(err, wire.ErrNodeName) {
				t.Fatalf("got %q, %v; want ErrNodeName", got, err)
			}
			if msg := err.Error(); len(msg) > 200 || strings.ContainsAny(msg, "\x00\n\x1b\xff") {
				t.Fatalf("the error is long or holds control characters: %q", msg)
			}
		})
	}
}

// TestHandshakeFrameIsBounded: a handshake frame is read without a buffer
// and refused from its header when it announces more than
// MaxHandshakeFrame, whatever comes after; what follows a frame is left
// in the stream.
func TestHandshakeFrameIsBounded(t *testing.T) {
	hello := frame(t, wire.KindHello, string(wire.Hello(wire.NewNonce(), "a.b.admin")))
	r := bytes.NewReader(append(append([]byte{}, hello...), "next"...))
	f, err := wire.ReadHandshakeFrame(r)
	if err != nil || f.Kind != wire.KindHello || r.Len() != 4 {
		t.Fatalf("got %v %v, %d bytes left; want the hello and 4 bytes", f.Kind, err, r.Len())
	}
	huge := []byte{wire.Version, byte(wire.KindHello), 1, 0, 0, 0} // 16 MiB announced
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = wire.ReadHandshakeFrame(io.MultiReader(bytes.NewReader(huge), bytes.NewReader(make([]byte, 100))))
	runtime.ReadMemStats(&after)
	var tl *wire.TooLargeError
	if !errors.As(err, &tl) || tl.Size != 16<<20 || tl.Max != wire.MaxHandshakeFrame {
		t.Fatalf("a 16 MiB hello: %v", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<10 {
		t.Fatalf("refusing a 16 MiB hello allocated %d bytes", grew)
	}
	if _, err := wire.ReadHandshakeFrame(bytes.NewReader(frame(t, wire.KindMessage, "x"))); !errors.Is(err, wire.ErrKind) {
		t.Fatalf("a message in the handshake: %v", err)
	}
	if f, err := wire.ReadHandshakeFrame(bytes.NewReader(frame(t, wire.KindBye, "wrong secret"))); err != nil || f.Kind != wire.KindBye {
		t.Fatalf("a bye in the handshake: %v %v", f.Kind, err)
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

// FuzzParseHello: no payload makes ParseHello panic, and what it accepts
// is a nonce and a valid node name that Hello gives back byte for byte.
// The seed corpus is in testdata/fuzz.
func FuzzParseHello(f *testing.F) {
	f.Add(wire.Hello(make([]byte, wire.NonceSize), "first.process_0.admin"))
	f.Add(wire.Hello(make([]byte, wire.NonceSize), "première.main.admin"))
	f.Add([]byte("short"))
	f.Add(append(make([]byte, wire.NonceSize), 0, 0, 0))
	f.Fuzz(func(t *testing.T, p []byte) {
		if q := wire.QuoteTrunc(string(p), 64); len(q) > 66+len("…") || strings.ContainsAny(q, "\x00\n\r\x1b") {
			t.Fatalf("QuoteTrunc gives %q", q)
		}
		nonce, node, err := wire.ParseHello(p)
		if err != nil {
			return
		}
		if len(nonce) != wire.NonceSize || wire.ValidateNode(node) != nil {
			t.Fatalf("accepted a nonce of %d bytes and node %q", len(nonce), node)
		}
		if !bytes.Equal(wire.Hello(nonce, node), p) {
			t.Fatalf("hello %q does not round-trip", p)
		}
	})
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
