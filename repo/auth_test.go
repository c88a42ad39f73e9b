package repo_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peacepie/peacepie/internal/gittest"
)

// TestStorePrivateRepository: a repository behind HTTP authentication is
// refused without credentials, and fetched with basic credentials (from a
// password file) or a bearer token; the secret never shows in errors or
// logs.
func TestStorePrivateRepository(t *testing.T) {
	t.Parallel()
	const password, token = "pa55-w0rd-secret", "t0ken-secret"
	e := newStoreEnv(t)
	r := makePackage(t, e.repos, "priv", "1.0.0")
	srv := gittest.Serve(t, e.repos)
	srv.RequireAuth("alice", password, token)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pw"), []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	entry := fmt.Sprintf("[[package]]\nname = \"priv\"\nurl = %q\ntags = [\"v1.0.0\"]\n", srv.RepoURL("priv"))

	// No credentials: refused, nothing cached.
	s := e.store(entry)
	if _, err := findPkg(t, s, "priv"); err == nil || !strings.Contains(strings.ToLower(err.Error()), "auth") {
		t.Fatalf("without credentials: %v, want an authentication error", err)
	}
	// Wrong password: refused, and the wrong secret is not echoed.
	s = e.store(entry + "[package.auth]\nusername = \"alice\"\npassword = \"wrong-secret\"\n")
	if _, err := findPkg(t, s, "priv"); err == nil || strings.Contains(err.Error(), "wrong-secret") {
		t.Fatalf("with a wrong password: %v", err)
	}
	// Basic credentials from a file (relative to the list's directory).
	e2 := newStoreEnv(t)
	list := entry + "[package.auth]\nusername = \"alice\"\npassword_file = " + fmt.Sprintf("%q", filepath.Join(dir, "pw")) + "\n"
	s = e2.store(list)
	checkPackage(t, mustFind(t, s, "priv"), "priv", "1.0.0", r.CommitOf("v1.0.0"))
	// A bearer token.
	e3 := newStoreEnv(t)
	s = e3.store(entry + "[package.auth]\ntoken = \"" + token + "\"\n")
	checkPackage(t, mustFind(t, s, "priv"), "priv", "1.0.0", r.CommitOf("v1.0.0"))
	for _, log := range []string{e.log.String(), e2.log.String(), e3.log.String()} {
		if strings.Contains(log, password) || strings.Contains(log, token) {
			t.Fatalf("a secret is in the log:\n%s", log)
		}
	}
}
