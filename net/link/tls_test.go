package link_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/peacepie/peacepie/internal/testcert"
	"github.com/peacepie/peacepie/net/link"
)

// TestTLSLinks: with TLSConfig on both ends a link carries messages; a
// dialer without TLS, or with a certificate of another CA, is refused and
// the refusal is logged.
func TestTLSLinks(t *testing.T) {
	dir := t.TempDir()
	ca := testcert.NewCA(t, "system")
	caFile := ca.WriteCA(t, dir)
	certA, keyA := ca.Issue(t, dir, "first")
	certB, keyB := ca.Issue(t, dir, "second")
	serverTLS, err := link.TLSConfig(certA, keyA, caFile)
	if err != nil {
		t.Fatal(err)
	}
	clientTLS, err := link.TLSConfig(certB, keyB, caFile)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 10)
	addr, log := server(t, testSecret, got, link.Config{TLS: serverTLS})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := link.Dial(ctx, addr, link.Config{Node: "second.main.admin", Secret: []byte(testSecret), TLS: clientTLS})
	if err != nil {
		t.Fatalf("a TLS link with certificates of the system's CA: %v", err)
	}
	defer c.Close("test over")
	go c.Run(func([]byte, bool) {})
	c.Send([]byte("over TLS"))
	select {
	case m := <-got:
		if m != "second.main.admin: over TLS" {
			t.Fatalf("got %q", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the message did not arrive")
	}

	// No TLS at all.
	if _, err := dial(t, addr, testSecret); err == nil {
		t.Fatal("a dialer without TLS got a link")
	}
	// A certificate of another CA.
	other := testcert.NewCA(t, "other")
	odir := t.TempDir()
	oc, ok := other.Issue(t, odir, "intruder")
	otherTLS, err := link.TLSConfig(oc, ok, other.WriteCA(t, odir))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := link.Dial(ctx, addr, link.Config{Node: "intruder.main.admin", Secret: []byte(testSecret), TLS: otherTLS}); err == nil {
		t.Fatal("a dialer with another CA's certificate got a link")
	}
	// A listener whose certificate is not from the dialer's CA.
	oaddr, _ := server(t, testSecret, nil, link.Config{TLS: otherTLS})
	if _, err := link.Dial(ctx, oaddr, link.Config{Node: "second.main.admin", Secret: []byte(testSecret), TLS: clientTLS}); err == nil ||
		!strings.Contains(err.Error(), "not from the system's CA") {
		t.Fatalf("a listener with another CA's certificate: %v", err)
	}
	eventually(t, "the refusals in the log", func() bool { return strings.Count(log.String(), "TLS:") >= 2 })
}

func TestTLSConfigErrors(t *testing.T) {
	dir := t.TempDir()
	ca := testcert.NewCA(t, "system")
	caFile := ca.WriteCA(t, dir)
	cert, key := ca.Issue(t, dir, "first")
	for _, c := range []struct{ cert, key, ca, want string }{
		{cert, key, dir + "/missing.pem", "CA"},
		{cert, dir + "/missing.pem", caFile, "key"},
		{cert, key, cert + ".txt", "CA"},
	} {
		if _, err := link.TLSConfig(c.cert, c.key, c.ca); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("TLSConfig(%s, %s, %s): %v, want an error about the %s", c.cert, c.key, c.ca, err, c.want)
		}
	}
}
