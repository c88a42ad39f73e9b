package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/peacepie/peacepie/internal/config"
	"github.com/peacepie/peacepie/net/link"
)

// TestSecretStrength: every way a secret is loaded — the config's
// secret_file (peacepie run) and --secret-file — refuses a secret under
// 32 bytes, and an empty file, with an error that names the file and says
// how to make a good secret. The secret made on first run passes.
func TestSecretStrength(t *testing.T) {
	if config.MinSecret != link.MinSecret {
		t.Fatalf("config.MinSecret %d, link.MinSecret %d", config.MinSecret, link.MinSecret)
	}
	tests := []struct {
		name, contents, want string // want: "" for accepted
	}{
		{"weak", "wxyz\n", "is 4 bytes, less than 32"},
		{"16 hex digits (64 bits)", "0123456789abcdef", "is 16 bytes"},
		{"31 bytes", "0123456789abcdef0123456789abcde", "is 31 bytes"},
		{"empty", "", "is empty"},
		{"blank", " \n\t\n", "is empty"},
		{"32 bytes", "0123456789abcdef0123456789abcdef\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := config.Init(dir); err != nil {
				t.Fatal(err)
			}
			secretFile := filepath.Join(dir, "secret")
			if err := os.WriteFile(secretFile, []byte(tt.contents), 0o600); err != nil {
				t.Fatal(err)
			}
			_, errLoad := config.Load(filepath.Join(dir, config.DefaultFile))
			_, errRead := config.ReadSecret(secretFile)
			for what, err := range map[string]error{"Load": errLoad, "ReadSecret": errRead} {
				if tt.want == "" {
					if err != nil {
						t.Errorf("%s: %v", what, err)
					}
					continue
				}
				if !errors.Is(err, config.ErrWeakSecret) {
					t.Fatalf("%s: %v, want ErrWeakSecret", what, err)
				}
				for _, part := range []string{tt.want, secretFile, "openssl rand -hex 32"} {
					if !strings.Contains(err.Error(), part) {
						t.Errorf("%s: %q does not say %q", what, err, part)
					}
				}
			}
		})
	}
}

// TestFirstRunSecret: the secret made on first run is 64 hex digits.
func TestFirstRunSecret(t *testing.T) {
	dir := t.TempDir()
	if _, err := config.Init(dir); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(filepath.Join(dir, config.DefaultFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Secret) != 64 || strings.Trim(c.Secret, "0123456789abcdef") != "" {
		t.Fatalf("first-run secret %q", c.Secret)
	}
}

// TestLinkLimits: the limits on strangers at the links port have defaults
// and are checked.
func TestLinkLimits(t *testing.T) {
	dir := t.TempDir()
	if _, err := config.Init(dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, config.DefaultFile)
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.LinksMaxUnauth != 64 || c.LinksHandshake.Duration != 5*time.Second {
		t.Fatalf("defaults: %d, %s", c.LinksMaxUnauth, c.LinksHandshake)
	}
	if err := os.WriteFile(path, []byte("links_max_unauthenticated = 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(path); err == nil || !strings.Contains(err.Error(), "links_max_unauthenticated must be 1 or more") {
		t.Fatalf("links_max_unauthenticated = 0: %v", err)
	}
}
