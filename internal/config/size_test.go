package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want Size
		ok   bool
	}{
		{"64MiB", 64 << 20, true},
		{"512 KiB", 512 << 10, true},
		{"1GiB", 1 << 30, true},
		{"1000", 1000, true},
		{"100B", 100, true},
		{"0", 0, true},
		{"", 0, false},
		{"-1MiB", 0, false},
		{"1.5MiB", 0, false},
		{"64MB", 0, false},
		{"lots", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestActorMemoryKey(t *testing.T) {
	if got := Defaults().ActorMemory; got != 64<<20 {
		t.Errorf("default actor_memory = %d, want 64 MiB", got)
	}
	for text, want := range map[string]Size{`actor_memory = "16MiB"`: 16 << 20, `actor_memory = 0`: 0, `actor_memory = 4096`: 4096} {
		dir := t.TempDir()
		path := filepath.Join(dir, "peacepie.toml")
		if err := os.WriteFile(path, []byte(text+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(path)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		if c.ActorMemory != want {
			t.Errorf("%s: %d, want %d", text, c.ActorMemory, want)
		}
	}
	path := filepath.Join(t.TempDir(), "peacepie.toml")
	if err := os.WriteFile(path, []byte(`actor_memory = "a lot"`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil {
		t.Error("a bad actor_memory was accepted")
	}
}

func TestMailboxLimitKey(t *testing.T) {
	if got := Defaults().MailboxLimit; got != 100000 {
		t.Errorf("default mailbox_limit = %d, want 100000", got)
	}
	path := filepath.Join(t.TempDir(), "peacepie.toml")
	if err := os.WriteFile(path, []byte("mailbox_limit = 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil || c.MailboxLimit != 0 {
		t.Fatalf("mailbox_limit = 0: %d, %v", c.MailboxLimit, err)
	}
	if err := os.WriteFile(path, []byte("mailbox_limit = -5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil {
		t.Error("a negative mailbox_limit was accepted")
	}
}

// TestHibernateAfterKey: hibernate_after is 30s by default, "0s" turns
// hibernation off (it was refused as not above zero), and a negative or
// bad duration is refused.
func TestHibernateAfterKey(t *testing.T) {
	if got := Defaults().HibernateAfter.Duration; got != 30*time.Second {
		t.Errorf("default hibernate_after = %s, want 30s", got)
	}
	path := filepath.Join(t.TempDir(), "peacepie.toml")
	for _, tt := range []struct {
		text, want string
		after      time.Duration
	}{
		{`hibernate_after = "0s"`, "", 0},
		{`hibernate_after = "2m"`, "", 2 * time.Minute},
		{`hibernate_after = "-1s"`, `"0s" (never) or more`, 0},
		{`hibernate_after = "soon"`, "not a duration", 0},
	} {
		if err := os.WriteFile(path, []byte(tt.text+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(path)
		switch {
		case tt.want == "" && (err != nil || c.HibernateAfter.Duration != tt.after):
			t.Errorf("%s: %s, %v", tt.text, c.HibernateAfter.Duration, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: %v, want an error mentioning %q", tt.text, err, tt.want)
		}
	}
}
