package luart

import (
	"net/url"
	"testing"
)

// TestHostAllowed: a name allows any port, name:port that port, *.domain
// its subdomains only; case does not matter.
func TestHostAllowed(t *testing.T) {
	allowed := []string{"api.example.org", "127.0.0.1:8080", "*.corp.example", "[::1]:9000", "UPPER.example"}
	for raw, want := range map[string]bool{
		"https://api.example.org/x":       true,
		"http://api.example.org:8443/":    true,
		"http://API.Example.org/":         true,
		"http://other.example.org/":       false,
		"http://127.0.0.1:8080/":          true,
		"http://127.0.0.1:8081/":          false,
		"http://127.0.0.1/":               false,
		"http://a.corp.example/":          true,
		"http://a.b.corp.example:1/":      true,
		"http://corp.example/":            false,
		"http://evilcorp.example/":        false,
		"http://[::1]:9000/":              true,
		"http://[::1]:9001/":              false,
		"http://upper.example/":           true,
		"http://api.example.org.evil.io/": false,
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := hostAllowed(u, allowed); got != want {
			t.Errorf("hostAllowed(%s) = %v, want %v", raw, got, want)
		}
	}
}
