package link

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/peacepie/peacepie/net/wire"
)

// readerOf is what a link reads nc with: raw reads on a plain TCP
// connection (see sysIO), nc itself otherwise.
func readerOf(nc net.Conn) io.Reader {
	if sio := newSysIO(nc); sio != nil {
		return sio
	}
	return nc
}

// Dial opens a link to the listener at addr of cfg.Network and
// authenticates both ends (docs/protocol.md, "Handshake"): it proves the
// secret first, then checks the listener's proof. A listener that does not
// know the secret gives wire.ErrAuth. The handshake ends by ctx's
// deadline, else within 10s.
func Dial(ctx context.Context, addr string, cfg Config) (*Conn, error) {
	cfg.defaults()
	if err := cfg.check(); err != nil {
		return nil, err
	}
	nc, err := cfg.network().Dial(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("link: dial %s: %w", addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	} else {
		nc.SetDeadline(time.Now().Add(10 * time.Second))
	}
	if cfg.TLS != nil {
		tc := tls.Client(nc, cfg.TLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("link: %s: TLS: %w", addr, err)
		}
		nc = tc
	}
	peer, err := dialHandshake(nc, cfg)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("link: %s: %w", addr, err)
	}
	nc.SetDeadline(time.Time{})
	return newConn(cfg, nc, readerOf(nc), peer), nil
}

func writeFrame(nc net.Conn, k wire.Kind, p []byte) error {
	f, err := wire.AppendFrame(nil, k, p, wire.MaxHandshakeFrame)
	if err != nil {
		return err
	}
	_, err = nc.Write(f)
	return err
}

// expect reads the next handshake frame, which must be of kind k; a bye
// is the peer refusing (wire.ErrAuth, with its reason, quoted and cut).
func expect(nc net.Conn, k wire.Kind) ([]byte, error) {
	f, err := wire.ReadHandshakeFrame(nc)
	if err != nil {
		return nil, err
	}
	if f.Kind == wire.KindBye {
		return nil, fmt.Errorf("%w: it says %s", wire.ErrAuth, wire.QuoteTrunc(string(f.Payload), 200))
	}
	if f.Kind != k {
		return nil, fmt.Errorf("handshake: got a %s frame, want %s", f.Kind, k)
	}
	return f.Payload, nil
}

// dialHandshake is the dialer's side: Hello, Challenge, Auth (our proof),
// Ready (theirs). It returns the listener's node name.
func dialHandshake(nc net.Conn, cfg Config) (string, error) {
	myNonce := wire.NewNonce()
	if err := writeFrame(nc, wire.KindHello, wire.Hello(myNonce, cfg.Node)); err != nil {
		return "", err
	}
	p, err := expect(nc, wire.KindChallenge)
	if err != nil {
		return "", err
	}
	theirNonce, peer, err := wire.ParseChallenge(p)
	if err != nil {
		return "", err
	}
	if err := writeFrame(nc, wire.KindAuth, wire.Proof(cfg.Secret, "dialer", theirNonce, myNonce, cfg.Node)); err != nil {
		return "", err
	}
	if p, err = expect(nc, wire.KindReady); err != nil {
		return "", err
	}
	proof, err := wire.ParseProof(wire.KindReady, p)
	if err != nil {
		return "", err
	}
	if !wire.CheckProof(cfg.Secret, "listener", myNonce, theirNonce, peer, proof) {
		return "", fmt.Errorf("%w (the listener claims to be %s)", wire.ErrAuth, wire.QuoteTrunc(peer, 64))
	}
	return peer, nil
}

// listenHandshake is the listener's side: Hello, Challenge (a nonce, no
// proof), Auth (the dialer's proof, checked), Ready (our proof). A peer
// without the secret gets a nonce and our node name, nothing that depends
// on the secret. It returns the dialer's node name; the claimed name is
// returned with an error as well, for the log (validated or empty).
func listenHandshake(nc net.Conn, cfg Config) (peer string, err error) {
	p, err := expect(nc, wire.KindHello)
	if err != nil {
		return "", err
	}
	theirNonce, peer, err := wire.ParseHello(p)
	if err != nil {
		return "", err
	}
	myNonce := wire.NewNonce()
	if err := writeFrame(nc, wire.KindChallenge, wire.Challenge(myNonce, cfg.Node)); err != nil {
		return peer, err
	}
	if p, err = expect(nc, wire.KindAuth); err != nil {
		return peer, err
	}
	proof, err := wire.ParseProof(wire.KindAuth, p)
	if err == nil && !wire.CheckProof(cfg.Secret, "dialer", myNonce, theirNonce, peer, proof) {
		err = wire.ErrAuth
	}
	if err != nil {
		writeFrame(nc, wire.KindBye, []byte("wrong secret"))
		return peer, err
	}
	if err := writeFrame(nc, wire.KindReady, wire.Proof(cfg.Secret, "listener", theirNonce, myNonce, cfg.Node)); err != nil {
		return peer, err
	}
	return peer, nil
}
