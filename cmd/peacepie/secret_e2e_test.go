package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestWeakSecretRefused: `peacepie run` refuses a secret file of 4 bytes
// (it used to accept one in the config directory; only --secret-file was
// checked) and an empty one, saying which file and how to make a good
// secret; --secret-file is checked the same way.
func TestWeakSecretRefused(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, contents, want string }{
		{"weak", "wxyz\n", "is 4 bytes, less than 32"},
		{"empty", "", "is empty"},
	} {
		dir := t.TempDir()
		secret := filepath.Join(dir, "config", "secret")
		if err := os.MkdirAll(filepath.Dir(secret), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(secret, []byte(tt.contents), 0o600); err != nil {
			t.Fatal(err)
		}
		r := runCLI(t, dir, nil, "run", "--console", "127.0.0.1:0")
		r.check(t, tt.name+" config secret", 1, "", tt.want)
		r.check(t, tt.name+" config secret names the file", 1, "", "config/secret")
		r.check(t, tt.name+" config secret says how", 1, "", "openssl rand -hex 32")

		other := t.TempDir()
		r = runCLI(t, other, nil, "run", "--console", "127.0.0.1:0", "--host", "second", "--join", "127.0.0.1:1", "--secret-file", secret)
		r.check(t, tt.name+" --secret-file", 1, "", tt.want)
		r.check(t, tt.name+" --secret-file names the file", 1, "", secret)
	}
}
