// Package runner runs a peacepie process: `peacepie run`.
package runner

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/peacepie/peacepie/actors"
	"github.com/peacepie/peacepie/cluster"
	"github.com/peacepie/peacepie/examples"
	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/internal/client"
	"github.com/peacepie/peacepie/internal/config"
	"github.com/peacepie/peacepie/internal/termtext"
	"github.com/peacepie/peacepie/luart"
	"github.com/peacepie/peacepie/net/link"
	"github.com/peacepie/peacepie/repo"
	"github.com/peacepie/peacepie/web"
)

// Options are the command-line choices of `peacepie run`.
type Options struct {
	ConfigPath string    // empty: ./config/peacepie.toml, made on first run
	Console    string    // overrides the config's console address
	Repos      string    // overrides the config's repo list
	Host       string    // overrides the config's host name
	Join       string    // overrides the config's join address
	SecretFile string    // overrides the config's secret file
	Links      string    // overrides the config's link address
	Gossip     string    // overrides the config's gossip address
	Stdout     io.Writer // the URL line and what actors print
	Stderr     io.Writer // the log
	// Services are the Go services of the program (luart.Services); its
	// child processes must offer the same.
	Services map[string]any
	// Packages are Lua packages built into the program, besides
	// peacepie's own, with the services each may require.
	Packages []Package
	// JoinCommand starts another host in the printed join line ("peacepie
	// run" when empty); the line adds --host, --console, --join and
	// --secret-file.
	JoinCommand string
}

// Package is a Lua package built into a program (its files, the manifest
// at the root) and the services it is granted.
type Package struct {
	Files    fs.FS
	Services []string
}

// Run starts the process and serves the console until ctx ends or the
// system is told to exit; both shut down in order and return nil.
func Run(ctx context.Context, opt Options) error {
	path := opt.ConfigPath
	if path == "" {
		created, err := config.Init(config.DefaultDir)
		if err != nil {
			return err
		}
		for _, f := range created {
			fmt.Fprintf(opt.Stderr, "created %s\n", f)
		}
		path = filepath.Join(config.DefaultDir, config.DefaultFile)
	}
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	if opt.Console != "" {
		cfg.Console = opt.Console
	}
	if opt.Repos != "" {
		cfg.Repos = opt.Repos
	}
	for _, o := range []struct {
		to *string
		v  string
	}{{&cfg.Host, opt.Host}, {&cfg.Join, opt.Join}, {&cfg.Links, opt.Links}, {&cfg.Gossip, opt.Gossip}} {
		if o.v != "" {
			*o.to = o.v
		}
	}
	if opt.SecretFile != "" {
		if cfg.Secret, err = config.ReadSecret(opt.SecretFile); err != nil {
			return err
		}
	}
	base, err := newLogger(opt.Stderr, cfg.LogLevel)
	if err != nil {
		return err
	}
	tee := host.NewLogTee(base.Handler()) // the console's live log view
	log := slog.New(tee)
	src, builtins, err := openStore(cfg, log, opt.Packages)
	if err != nil {
		return err
	}
	if err := notRunningYet(ctx, cfg); err != nil { // after the config's own errors: they say more
		return err
	}
	sharedCores := tuneRuntime(cfg)
	rt, err := newRuntime(src, opt.Services, builtins)
	if err != nil {
		return err
	}
	proc, err := host.NewProcess(host.Config{
		Host:           cfg.Host,
		Process:        cfg.Process,
		Budget:         cfg.HandlerBudget.Duration,
		ActorMemory:    actorMemory(cfg),
		MailboxLimit:   mailboxLimit(cfg),
		HibernateAfter: cfg.HibernateAfter.Duration,
		Resolver:       rt,
		Logger:         log,
		Output:         termtext.NewWriter(opt.Stdout), // what actors print, escaped
		AllowEval:      cfg.ReplLua,
		Grants:         Grants(src),
	})
	if err != nil {
		return err
	}
	tee.Attach(proc)
	go watchDev(ctx, src, rt, proc, log)
	abs, err := filepath.Abs(cfg.Path)
	if err != nil {
		return err
	}
	tlsConf, err := linkTLS(cfg)
	if err != nil {
		proc.Shutdown()
		<-proc.Done()
		return err
	}
	// Set before the host joins: what the root sends may load packages.
	src.AskPin = cluster.AskPin(proc, proc.HeadAdmin)
	src.FetchTree = cluster.AskTree(proc, proc.HeadAdmin)
	head, err := cluster.NewHead(proc, cluster.HeadConfig{TLS: tlsConf, Host: cfg.Host, ConfigPath: abs, Secret: []byte(cfg.Secret), Listen: cfg.Links, Logger: log,
		Restart: cfg.Restart == "always", Backoff: cfg.RestartBackoff.Duration, RecreateElsewhere: cfg.HostRestart == "elsewhere", Join: cfg.Join, Gossip: cfg.Gossip,
		ShareCores: sharedCores, HandshakeTimeout: cfg.LinksHandshake.Duration, MaxUnauthenticated: cfg.LinksMaxUnauth,
		MaxProcesses: cfg.MaxProcesses, ChildArgs: childArgs(opt), Packages: src})
	if err != nil {
		proc.Shutdown()
		<-proc.Done()
		return err
	}
	proc.SetRemote(head)
	console, err := web.NewServer(web.Config{
		Token: cfg.Token, Gateway: proc, Logger: log, MaxRequestBytes: cfg.MaxRequestBytes,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Console)
	if err != nil {
		proc.Shutdown()
		<-proc.Done()
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("console address %s is in use: set another one with --console ADDR or in %s", cfg.Console, cfg.Path)
		}
		return fmt.Errorf("console: %w", err)
	}
	srv := console.HTTPServer()
	go srv.Serve(console.Listener(ln))
	// Clients (peacepie ask, attach) find the console where it really is.
	if remove, err := config.WriteConsoleURL(cfg.Path, "http://"+ln.Addr().String()); err != nil {
		log.Warn("clients will look for the console at the config's address", "error", err.Error())
	} else {
		defer remove()
	}
	host.PrintLine(opt.Stdout, proc, fmt.Sprintf("peacepie is running: console http://%s/?token=%s\n", ln.Addr(), cfg.Token))
	// The join line works as printed: it names the file this host took the
	// system's secret from (--secret-file, not a secret of its own that a
	// first run may have made in its config) and a console address that is
	// free on this machine (127.0.0.1:0: the system picks a port).
	secretFile := cfg.SecretFile
	if opt.SecretFile != "" {
		secretFile = opt.SecretFile
	}
	secretPath, _ := filepath.Abs(secretFile)
	joinCmd := opt.JoinCommand
	if joinCmd == "" {
		joinCmd = "peacepie run"
	}
	host.PrintLine(opt.Stdout, proc, fmt.Sprintf("other hosts join with: %s --host NAME --console 127.0.0.1:0 --join %s --secret-file %s\n", joinCmd, head.Addr(), secretPath))
	log.Info("started", "node", proc.AdminName(), "console", ln.Addr().String(), "links", head.Addr(), "join", cfg.Join)

	select {
	case <-ctx.Done():
		log.Info("signal received")
		proc.Shutdown()
		<-proc.Done()
	case <-proc.Done():
	}
	console.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_ = srv.Shutdown(sctx)
	log.Info("stopped")
	return nil
}

// tuneRuntime applies gc_percent and go_threads, unless GOGC or GOMAXPROCS
// say otherwise. It returns the cores the host's processes share
// (go_threads = 0), or 0 when the threads of a process are fixed.
func tuneRuntime(cfg config.Config) (sharedCores int) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(cfg.GCPercent)
	}
	switch {
	case os.Getenv("GOMAXPROCS") != "":
		return 0
	case cfg.GoThreads > 0:
		runtime.GOMAXPROCS(cfg.GoThreads)
		return 0
	}
	return runtime.GOMAXPROCS(0) // Go's default: the cores this process may use
}

// linkTLS is the links' TLS of a config, or nil.
func linkTLS(cfg config.Config) (*tls.Config, error) {
	if cfg.TLSCert == "" {
		return nil, nil
	}
	return link.TLSConfig(cfg.TLSCert, cfg.TLSKey, cfg.TLSCA)
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log_level %q: want debug, info, warn or error", level)
	}
	return slog.New(newTracebackHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// OpenStore opens the package store of a config: the built-in packages,
// the repo list, the lock file and the cache.
func OpenStore(cfg config.Config, log *slog.Logger) (*repo.Store, error) {
	store, _, err := openStore(cfg, log, nil)
	return store, err
}

// openStore is OpenStore with a program's own built-in packages too; it
// returns the services the repo list does not say for those (package
// name → services).
func openStore(cfg config.Config, log *slog.Logger, own []Package) (*repo.Store, map[string][]string, error) {
	builtin, err := repo.NewEmbedded(examples.PeacepieExample(), actors.Std())
	if err != nil {
		return nil, nil, fmt.Errorf("built-in packages: %w", err)
	}
	granted := map[string][]string{}
	for _, p := range own {
		m, err := repo.LoadManifest(p.Files)
		if err != nil {
			return nil, nil, fmt.Errorf("a package of the program: %w", err)
		}
		if err := builtin.Add(p.Files); err != nil {
			return nil, nil, fmt.Errorf("package %s of the program: %w", m.Name, err)
		}
		granted[m.Name] = p.Services
	}
	store, err := repo.OpenStore(cfg.Repos, cfg.Lock, cfg.Packages, builtin, log)
	if err != nil {
		return nil, nil, err
	}
	if err := checkGrants(store.List); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", cfg.Repos, err)
	}
	if cfg.Production {
		for _, e := range store.List.Packages {
			if e.Path != "" {
				return nil, nil, fmt.Errorf("%s: package %q is a development package (path = %q), and the config says production = true: list it with a url and tags", cfg.Repos, e.Name, e.Path)
			}
		}
	}
	store.FetchTimeout = cfg.FetchTimeout.Duration
	return store, granted, nil
}

// Grants returns the admin grants of packages (host.Config.Grants): those
// of the repo list, read again when it changes, and examples.Admin for the
// built-in peacepie_example when the list does not replace it.
func Grants(store *repo.Store) func(pkg string) []string {
	return func(pkg string) []string {
		if g, listed := store.Grants(pkg); listed {
			return g
		}
		if pkg == "peacepie_example" {
			return examples.Admin
		}
		return nil
	}
}

// checkGrants refuses a repo list that grants a command no grant can name.
func checkGrants(list *repo.List) error {
	known := map[string]bool{host.GrantAll: true}
	for _, c := range host.GrantableCommands {
		known[c] = true
	}
	for _, e := range list.Packages {
		for _, g := range e.Admin {
			if !known[g] {
				return fmt.Errorf("%w: package %q: admin grants %q, which is not a command that needs a grant (%s, or %q for all)",
					repo.ErrBadList, e.Name, g, strings.Join(host.GrantableCommands, ", "), host.GrantAll)
			}
		}
	}
	return nil
}

// childArgs are the options of run that children take too: a repo list
// given with --repos is the host's, its children's included.
func childArgs(opt Options) []string {
	if opt.Repos == "" {
		return nil
	}
	abs, err := filepath.Abs(opt.Repos)
	if err != nil {
		abs = opt.Repos
	}
	return []string{"--repos", abs}
}

// ChildOptions are the arguments of the hidden `peacepie child`.
type ChildOptions struct {
	ConfigPath string
	Repos      string // overrides the config's repo list (run's --repos)
	Host       string // the host's name (its --host may differ from the config)
	Process    string // "process_N"
	Parent     string // the head's link address
	GoThreads  int    // its share of the host's cores (go_threads = 0), or 0
	Stdin      io.Reader
	Stdout     io.Writer
	Stderr     io.Writer
	Services   map[string]any // as the head's program offers them (Options.Services)
	Packages   []Package      // as the head's program has them (Options.Packages)
}

// RunChild runs a child process: the secret comes on stdin, and when stdin
// ends (the parent is gone, even killed) the child stops.
func RunChild(ctx context.Context, opt ChildOptions) error {
	in := bufio.NewReader(opt.Stdin)
	secret, err := in.ReadString('\n')
	if err != nil {
		return fmt.Errorf("child: read the secret: %w", err)
	}
	secret = strings.TrimSpace(secret)
	cfg, err := config.ReadSettings(opt.ConfigPath)
	if err != nil {
		return err
	}
	if opt.Host != "" {
		cfg.Host = opt.Host
	}
	if opt.Repos != "" {
		cfg.Repos = opt.Repos
	}
	base, err := newLogger(opt.Stderr, cfg.LogLevel)
	if err != nil {
		return err
	}
	store, builtins, err := openStore(cfg, base, opt.Packages)
	if err != nil {
		return err
	}
	if tuneRuntime(cfg) > 0 && opt.GoThreads > 0 {
		runtime.GOMAXPROCS(opt.GoThreads)
	}
	rt, err := newRuntime(store, opt.Services, builtins)
	if err != nil {
		return err
	}
	proc, err := host.NewProcess(host.Config{
		Host: cfg.Host, Process: opt.Process, Budget: cfg.HandlerBudget.Duration,
		ActorMemory: actorMemory(cfg), MailboxLimit: mailboxLimit(cfg), HibernateAfter: cfg.HibernateAfter.Duration,
		Resolver: rt, Logger: base, Output: termtext.NewWriter(opt.Stdout), AllowEval: cfg.ReplLua,
		Grants: Grants(store),
	})
	if err != nil {
		return err
	}
	tlsConf, err := linkTLS(cfg)
	if err != nil {
		proc.Shutdown()
		<-proc.Done()
		return err
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := link.Dial(dctx, opt.Parent, link.Config{Node: proc.AdminName(), Secret: []byte(secret), Logger: base, TLS: tlsConf})
	cancel()
	if err != nil {
		proc.Shutdown()
		<-proc.Done()
		return err
	}
	c := cluster.NewChild(proc, conn, proc.Logger())
	if err := c.EnableDirect(directListen(opt.Parent), link.Config{Secret: []byte(secret), Logger: base, TLS: tlsConf,
		HandshakeTimeout: cfg.LinksHandshake.Duration, MaxUnauthenticated: cfg.LinksMaxUnauth}); err != nil {
		proc.Logger().Warn("no direct links to the other processes: messages to them go through the head", "error", err.Error())
	}
	c.Packages = store.FollowJSON
	store.AskPin = cluster.AskPin(proc, c.Head)
	store.FetchTree = cluster.AskTree(proc, c.Head)
	proc.SetRemote(c)
	go watchDev(ctx, store, rt, proc, proc.Logger())
	go c.Run()
	go func() {
		io.Copy(io.Discard, in) // returns when the parent is gone
		proc.Shutdown()
	}()
	select {
	case <-proc.Done():
	case <-ctx.Done():
		proc.Shutdown()
		<-proc.Done()
	}
	return nil
}

// actorMemory is host.Config.ActorMemory for actor_memory, where 0 means
// no bound.
func actorMemory(cfg config.Config) int64 {
	if cfg.ActorMemory == 0 {
		return -1
	}
	return int64(cfg.ActorMemory)
}

// mailboxLimit is host.Config.MailboxLimit for mailbox_limit, where 0
// means no bound.
func mailboxLimit(cfg config.Config) int {
	if cfg.MailboxLimit <= 0 {
		return -1
	}
	return cfg.MailboxLimit
}

// directListen is where a child listens for the direct links of the
// system's other child processes: the interface its head's links listen
// on (parent, the address it dials), with a port of its own. Loopback
// unless the host's links listen further.
func directListen(parent string) string {
	h, _, err := net.SplitHostPort(parent)
	if err != nil {
		return "127.0.0.1:0"
	}
	return net.JoinHostPort(h, "0")
}

// newRuntime is the Lua runtime of a process: the packages of store, and
// the program's services, reachable by the packages the repo list grants
// them to, and by the program's own packages (builtins) that the repo
// list does not replace as the program grants them.
//
// Every process offers the built-in service "http" (luart.HTTP: to the
// hosts each package's http_hosts lists), unless the program offers a
// service of that name itself.
func newRuntime(store *repo.Store, services map[string]any, builtins map[string][]string) (*luart.Runtime, error) {
	rt := luart.NewRuntime(store)
	all := map[string]any{"http": &luart.HTTP{Hosts: store.HTTPHosts}}
	maps.Copy(all, services)
	granted := func(pkg string) []string {
		if _, listed := store.Grants(pkg); listed {
			return store.ServiceGrants(pkg)
		}
		return builtins[pkg]
	}
	s, err := luart.NewServices(all, granted)
	if err != nil {
		return nil, err
	}
	rt.SetServices(s)
	return rt, nil
}

// ErrRunning reports a system that runs already with the config.
var ErrRunning = errors.New("a system is already running with this config")

// notRunningYet refuses to start a second system on a config whose system
// runs: the console its run recorded (config.ConsoleFile) answers and
// proves it holds the config's token. A file left by a run that was
// killed, or an address another program took since, does not stop it.
func notRunningYet(ctx context.Context, cfg config.Config) error {
	addr, err := config.ReadConsoleURL(cfg.Path)
	if err != nil || addr == "" {
		return nil
	}
	wsURL, _, err := client.WSURL(addr)
	if err != nil {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if client.Check(cctx, wsURL, cfg.Token) != nil {
		return nil
	}
	return fmt.Errorf("%w: its console answers at %s (%s). Use it (peacepie ask, attach, the console), stop it (peacepie send first.main.admin exit), "+
		"or start another system in a directory of its own", ErrRunning, addr, config.ConsoleFilePath(cfg.Path))
}
