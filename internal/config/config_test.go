package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peacepie/peacepie/internal/config"
)

// TestEmptySecretFileIsNamed: an empty secret file is refused by name (it
// was "link: no secret", from the first link, naming nothing).
func TestEmptySecretFileIsNamed(t *testing.T) {
	dir := t.TempDir()
	if _, err := config.Init(dir); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := config.Load(filepath.Join(dir, config.DefaultFile))
	if err == nil || !strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("Load with an empty secret file: %v, want an error naming %s", err, secret)
	}
}
