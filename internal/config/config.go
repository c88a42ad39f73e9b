// Package config reads peacepie's configuration directory and makes the
// default one on first run: the config file, the repo list and the console
// token. Existing files are never overwritten.
package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Default locations, relative to the working directory.
const (
	DefaultDir  = "config"
	DefaultFile = "peacepie.toml"
)

// Config is the contents of peacepie.toml. Paths are resolved relative to
// the file's directory by Load.
type Config struct {
	Host            string      `toml:"host"`
	Process         string      `toml:"process"`
	Console         string      `toml:"console"`
	TokenFile       string      `toml:"token_file"`
	SecretFile      string      `toml:"secret_file"`
	Links           string      `toml:"links"`
	LinksMaxUnauth  int         `toml:"links_max_unauthenticated"`
	LinksHandshake  Duration    `toml:"links_handshake_timeout"`
	Join            string      `toml:"join"`
	Gossip          string      `toml:"gossip"`
	TLSCert         string      `toml:"tls_cert"`
	TLSKey          string      `toml:"tls_key"`
	TLSCA           string      `toml:"tls_ca"`
	Restart         string      `toml:"restart"`
	RestartBackoff  Duration    `toml:"restart_backoff"`
	HostRestart     string      `toml:"host_restart"`
	Repos           string      `toml:"repos"`
	Lock            string      `toml:"lock"`
	Packages        string      `toml:"packages"`
	FetchTimeout    Duration    `toml:"fetch_timeout"`
	HandlerBudget   Duration    `toml:"handler_budget"`
	ActorMemory     Size        `toml:"actor_memory"`
	MailboxLimit    int         `toml:"mailbox_limit"`
	HibernateAfter  OffDuration `toml:"hibernate_after"`
	GCPercent       int         `toml:"gc_percent"`
	GoThreads       int         `toml:"go_threads"`
	MaxProcesses    int         `toml:"max_processes"`
	MaxRequestBytes int64       `toml:"max_request_bytes"`
	LogLevel        string      `toml:"log_level"`
	ReplLua         bool        `toml:"repl_lua"`
	Production      bool        `toml:"production"`

	Path   string `toml:"-"` // the file it was read from
	Token  string `toml:"-"` // the contents of TokenFile
	Secret string `toml:"-"` // the contents of SecretFile
}

// Duration is a time.Duration written as "5s" in TOML.
type Duration struct{ time.Duration }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration such as \"5s\" or \"500ms\"", b)
	}
	if v <= 0 {
		return fmt.Errorf("%q must be above zero", b)
	}
	d.Duration = v
	return nil
}

// OffDuration is a Duration that may also be "0s": off.
type OffDuration struct{ time.Duration }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *OffDuration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration such as \"30s\", or \"0s\" for never", b)
	}
	if v < 0 {
		return fmt.Errorf("%q must be \"0s\" (never) or more", b)
	}
	d.Duration = v
	return nil
}

// Size is a number of bytes written as "64MiB" (also KiB, GiB, or bytes
// as a plain number) in TOML.
type Size int64

// UnmarshalTOML implements toml.Unmarshaler: an integer is bytes, a string
// is a number with an optional unit KiB, MiB or GiB.
func (s *Size) UnmarshalTOML(v any) error {
	switch x := v.(type) {
	case int64:
		if x < 0 {
			return fmt.Errorf("size %d must not be negative", x)
		}
		*s = Size(x)
		return nil
	case string:
		n, err := ParseSize(x)
		if err != nil {
			return err
		}
		*s = n
		return nil
	}
	return fmt.Errorf("size %v must be a number of bytes or a string such as \"64MiB\"", v)
}

// ParseSize reads "64MiB", "512KiB", "1GiB" or a plain number of bytes.
func ParseSize(text string) (Size, error) {
	t := strings.TrimSpace(text)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	var n int64
	if _, err := fmt.Sscanf(t, "%d", &n); err != nil || n < 0 || fmt.Sprint(n) != t || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size such as \"64MiB\", \"512KiB\" or a number of bytes", text)
	}
	return Size(n * mult), nil
}

const defaultConfig = `# peacepie configuration. Relative paths are relative to this file.

# Names: the admin of this process is "<host>.<process>.admin".
host = "first"
process = "main"

# Address of the web console and of its WebSocket /ws. Keep it on loopback:
# whoever has the token controls the system.
console = "127.0.0.1:9090"

# File with the console token (made on first run, readable by its owner only).
token_file = "token"

# File with the system's secret, which the processes of the system prove to
# each other on every link (made on first run, readable by its owner only),
# and the address the links listen on.
secret_file = "secret"
links = "127.0.0.1:0"

# Strangers on the links port: at most this many connections that have not
# proved the secret yet at once (one more is closed at once), each closed
# if it has not proved it within the timeout.
links_max_unauthenticated = 64
links_handshake_timeout = "5s"

# Several hosts: another host joins this system with
#   peacepie run --host second --join <links address printed at start-up>
# and a copy of this host's secret (--secret-file). join = "ADDR" here does
# the same. Hosts learn who is up through a gossip (hashicorp/memberlist,
# encrypted with the secret) on this address, UDP and TCP. Bind links and
# gossip to an address the other hosts can reach when they are on other
# machines, e.g. links = "10.0.0.5:7000", gossip = "10.0.0.5:7001".
join = ""
gossip = "127.0.0.1:0"

# Mutual TLS on every link of this host (between hosts and between its
# processes): this host's certificate and key, and the CA that signed the
# certificates of every host (PEM files; docs/architecture.md shows how to
# make them). All hosts of a system use TLS, or none. Empty: no TLS.
tls_cert = ""
tls_key = ""
tls_ca = ""

# What happens to a child process that dies unexpectedly: "never" (its
# actors are gone) or "always" (it comes back under its name, with its
# actors re-created from their class and last known params, after
# restart_backoff, doubled while it keeps dying).
restart = "never"
restart_backoff = "1s"

# What happens to the actors of a host that dies (the system's root, or
# after a failover the host that took its role, decides; give every host
# the same): "never" (they are gone) or "elsewhere" (each is made again
# from its class and last known params in the main process of a surviving
# host, spread over them). Actors a host had when it rejoined after a
# partition have no class recorded and are not made again.
host_restart = "never"

# Repo list: the Git repositories actor packages come from (see the file),
# the lock file with the commit of every tag used, and the cache of fetched
# packages (shared by every process of this host).
repos = "repos.toml"
lock = "repos.lock"
packages = "../packages"

# Time one package fetch may take.
fetch_timeout = "60s"

# Running time one Lua handler may use before it is interrupted. Time spent
# waiting in pp.ask or pp.sleep does not count.
handler_budget = "5s"

# Memory one Lua actor may hold (KiB, MiB or GiB; 0: no bound). Lua code
# that would allocate past it fails with "memory limit of N MiB exceeded";
# an actor that still holds more after that handler is stopped. Garbage
# does not count: the actor is measured when what it allocated reaches
# the bound.
actor_memory = "64MiB"

# Messages one actor's mailbox may hold (0: no bound); their bodies may
# hold actor_memory in all. Past either, an ask is answered at once with
# mailbox_is_full and a send fails (its sender gets the error; one from
# another process is dropped), counted in the actor's "refused" (get_actor,
# the console) and reported as an event; stop and move always get through.
mailbox_limit = 100000

# How long an actor whose class declares hibernate = true stays idle (no
# message, no timer armed) before it gives up its Lua state, keeping only
# the plain data on self; its next message wakes it. "0s": never.
hibernate_after = "30s"

# Go runtime of every process of this host. gc_percent: how much the heap
# grows past what is live before the garbage collector runs (Go's GOGC;
# Go's default is 100, which halves streaming between processes here).
# go_threads: threads running Go code per process (GOMAXPROCS). 0 shares
# the cores among the host's processes: each gets cores / processes, at
# least one, adjusted as child processes come and go (a host without
# children uses every core). Fewer threads per process keep a message from
# waking a thread on a core another process works on; and within one
# process, 1 keeps an ask between two actors on one thread (its p99 about
# 10-25 us instead of 35-40 on a 2-core VM) at the cost of running one
# handler at a time. The environment variables GOGC and GOMAXPROCS
# override both.
gc_percent = 400
go_threads = 0

# Child processes this host runs at most (create_process past it is
# refused): each is an OS process with its own memory.
max_processes = 16

# Largest request the console accepts, in bytes.
max_request_bytes = 1048576

# debug, info, warn or error.
log_level = "info"

# Let "peacepie attach" run Lua code inside actors (its lua command): only
# with the token, each use logged with the code, bounded by handler_budget.
repl_lua = false

# Refuse development packages (path = "..." in the repo list): a system
# in production runs only tagged versions from Git.
production = false
`

const defaultRepos = `# Repo list: the Git repositories actor packages come from.
#
# Each package is a Git repository with peacepie.toml at its root, tagged
# vX.Y.Z. Only the tags listed here may be used; "counter" in a
# requires_dist picks the highest, "counter==1.0.0" that one, and
# constraints such as "counter>=1.0,<2" choose among them. The commit of
# every tag used is recorded in repos.lock.
#
# The package "peacepie_example" is built into peacepie and needs no entry
# (an entry of that name replaces it).
#
# [[package]]
# name = "counter"
# url  = "https://git.example.org/team/counter.git"  # https, ssh, file:// or a local path
# tags = ["v1.0.0", "v2.0.0"]
# admin = ["create_process"]  # optional: admin commands its actors may send
#                             # (docs/packages.md, "Admin grants"; "all" for every one)
#
# A private repository takes credentials (never logged); paths are relative
# to this file:
#
# [[package]]
# name = "secret"
# url  = "https://git.example.org/team/secret.git"
# tags = ["v0.3.0"]
# [package.auth]
# username = "me"
# password_file = "secrets/secret.token"   # or token_file = ... for a bearer token
# # ssh_key = "/home/me/.ssh/id_ed25519"   # for ssh:// and git@host:path URLs
`

// Defaults returns the built-in configuration.
func Defaults() Config {
	var c Config
	if _, err := toml.Decode(defaultConfig, &c); err != nil {
		panic(err) // the default text is fixed
	}
	return c
}

// Init creates dir with the default config, repo list and token where they
// are missing. It returns the files it created.
func Init(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create config directory: %w", err)
	}
	var created []string
	for _, f := range []struct {
		name, text string
		mode       os.FileMode
	}{
		{DefaultFile, defaultConfig, 0o600},
		{"repos.toml", defaultRepos, 0o600},
		{"token", newToken() + "\n", 0o600},
		{"secret", newToken() + newToken() + "\n", 0o600},
	} {
		path := filepath.Join(dir, f.name)
		ok, err := writeNew(path, f.text, f.mode)
		if err != nil {
			return created, err
		}
		if ok {
			created = append(created, path)
		}
	}
	return created, nil
}

// writeNew writes a file only if it does not exist.
func writeNew(path, text string, mode os.FileMode) (bool, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if errors.Is(err, os.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	return true, f.Close()
}

func newToken() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}

// Load reads a config file over the defaults, resolves its paths and reads
// the token, creating the token file if it is missing (for peacepie run).
func Load(path string) (Config, error) { return load(path, true) }

// Read is Load for clients: a missing token file is an error, not a new
// token that the running system would not know.
func Read(path string) (Config, error) { return load(path, false) }

// ReadSettings is Read for commands that need no token (peacepie repo).
func ReadSettings(path string) (Config, error) {
	c, err := load(path, false)
	if errors.Is(err, errToken) {
		err = nil
	}
	return c, err
}

var errToken = errors.New("token")

func load(path string, createToken bool) (Config, error) {
	c := Defaults()
	data, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("read config: %w", err)
	}
	md, err := toml.Decode(string(data), &c)
	if err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	if undec := md.Undecoded(); len(undec) > 0 {
		return c, fmt.Errorf("config %s: unknown key %q", path, undec[0].String())
	}
	if c.GCPercent < 25 && c.GCPercent != -1 {
		return c, fmt.Errorf("config %s: gc_percent must be 25 or more (or -1: no collection), not %d", path, c.GCPercent)
	}
	if c.MaxProcesses < 1 {
		return c, fmt.Errorf("config %s: max_processes must be 1 or more, not %d", path, c.MaxProcesses)
	}
	if c.MailboxLimit < 0 {
		return c, fmt.Errorf("config %s: mailbox_limit must be 0 (no bound) or more, not %d", path, c.MailboxLimit)
	}
	if c.GoThreads < 0 {
		return c, fmt.Errorf("config %s: go_threads must be 0 (share the cores) or more, not %d", path, c.GoThreads)
	}
	if c.LinksMaxUnauth < 1 {
		return c, fmt.Errorf("config %s: links_max_unauthenticated must be 1 or more, not %d", path, c.LinksMaxUnauth)
	}
	if c.Restart != "never" && c.Restart != "always" {
		return c, fmt.Errorf("config %s: restart must be \"never\" or \"always\", not %q", path, c.Restart)
	}
	if c.HostRestart != "never" && c.HostRestart != "elsewhere" {
		return c, fmt.Errorf("config %s: host_restart must be \"never\" or \"elsewhere\", not %q", path, c.HostRestart)
	}
	c.Path = path
	dir := filepath.Dir(path)
	c.TokenFile = resolve(dir, c.TokenFile)
	c.SecretFile = resolve(dir, c.SecretFile)
	c.Repos = resolve(dir, c.Repos)
	c.Lock = resolve(dir, c.Lock)
	c.Packages = resolve(dir, c.Packages)
	c.TLSCert = resolve(dir, c.TLSCert)
	c.TLSKey = resolve(dir, c.TLSKey)
	c.TLSCA = resolve(dir, c.TLSCA)
	if n := btoi(c.TLSCert != "") + btoi(c.TLSKey != "") + btoi(c.TLSCA != ""); n != 0 && n != 3 {
		return c, fmt.Errorf("config %s: tls_cert, tls_key and tls_ca go together: set all three or none", path)
	}
	if createToken {
		if _, err := writeNew(c.TokenFile, newToken()+"\n", 0o600); err != nil {
			return c, err
		}
		if _, err := writeNew(c.SecretFile, newToken()+newToken()+"\n", 0o600); err != nil {
			return c, err
		}
		if c.Secret, err = ReadSecret(c.SecretFile); err != nil {
			return c, err
		}
	}
	tok, err := os.ReadFile(c.TokenFile)
	if err != nil {
		return c, fmt.Errorf("read %w: %w", errToken, err)
	}
	c.Token = strings.TrimSpace(string(tok))
	if len(c.Token) < 16 {
		return c, fmt.Errorf("token in %s is shorter than 16 characters", c.TokenFile)
	}
	return c, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// MinSecret is the shortest secret accepted, in bytes after trimming
// white space: 32, so that even a secret of hex digits holds 128 bits
// (net/link refuses shorter ones too). The secret made on first run is 64
// hex digits.
const MinSecret = 32

// ErrWeakSecret: a secret file is empty or holds fewer than MinSecret
// bytes.
var ErrWeakSecret = errors.New("the secret is too short")

// ReadSecret reads the system's secret from a file (the config's
// secret_file, or --secret-file): its contents without surrounding white
// space, which must be at least MinSecret bytes. A peer that talks to a
// listener of the system sees nothing that depends on the secret, but one
// that gets a dialer to connect to it can test guesses offline, so a
// short secret is refused (ErrWeakSecret, with the file's name and how to
// make a good one).
func ReadSecret(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read secret: %w", err)
	}
	sec := strings.TrimSpace(string(data))
	const how = "make one with `openssl rand -hex 32 > %s` (64 hex digits, as peacepie makes on first run)"
	if sec == "" {
		return "", fmt.Errorf("%w: the secret file %s is empty: put the system's secret in it (a copy of the first host's), or "+how, ErrWeakSecret, path, path)
	}
	if len(sec) < MinSecret {
		return "", fmt.Errorf("%w: the secret in %s is %d bytes, less than %d (128 bits of hex digits): "+how, ErrWeakSecret, path, len(sec), MinSecret, path)
	}
	return sec, nil
}

func resolve(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// ConsoleFile is the file, next to the config file, in which `peacepie
// run` writes the address its console serves (it may differ from the
// config's console: --console, or a port 0 the system chose). Clients look
// there first.
const ConsoleFile = "console.url"

// ConsoleFilePath returns the console file of a config file.
func ConsoleFilePath(configPath string) string {
	return filepath.Join(filepath.Dir(configPath), ConsoleFile)
}

// WriteConsoleURL writes url into the console file of configPath (mode
// 0600, replaced in one step). remove deletes the file again if it still
// holds url, so a later run's file is left alone.
func WriteConsoleURL(configPath, url string) (remove func(), err error) {
	path := ConsoleFilePath(configPath)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".console.url-*")
	if err != nil {
		return nil, fmt.Errorf("write the console address: %w", err)
	}
	_, werr := tmp.WriteString(url + "\n")
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr, os.Chmod(tmp.Name(), 0o600)); err != nil {
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("write the console address: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("write the console address: %w", err)
	}
	return func() {
		if got, _ := ReadConsoleURL(configPath); got == url {
			os.Remove(path)
		}
	}, nil
}

// ReadConsoleURL returns the address in the console file of configPath,
// or "" when there is none (no system running, or one that predates the
// file). The address may be stale: a run killed without cleaning up
// leaves it behind, so clients check who answers there (client.Check).
func ReadConsoleURL(configPath string) (string, error) {
	data, err := os.ReadFile(ConsoleFilePath(configPath))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the console address: %w", err)
	}
	return strings.TrimSpace(string(data)), nil
}
