// Command peacepie runs an actor system whose actors are written in Lua, and
// talks to a running one.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/internal/client"
	"github.com/peacepie/peacepie/internal/config"
	"github.com/peacepie/peacepie/internal/repl"
	"github.com/peacepie/peacepie/internal/repocmd"
	"github.com/peacepie/peacepie/internal/runner"
	"github.com/peacepie/peacepie/internal/termtext"
	"github.com/peacepie/peacepie/repo"
	"github.com/peacepie/peacepie/system"
)

func main() { os.Exit(run()) }

// run runs the command line and returns the exit code.
func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if prefix := os.Getenv("PEACEPIE_CPUPROFILE"); prefix != "" {
		defer profileCPU(prefix)()
	}
	if err := withUsageExit(app()).RunContext(ctx, flagsFirst(os.Args)); err != nil {
		var ec cli.ExitCoder
		if errors.As(err, &ec) {
			if msg := err.Error(); msg != "" {
				fmt.Fprintln(os.Stderr, "peacepie:", termtext.Text(msg))
			}
			return ec.ExitCode()
		}
		fmt.Fprintln(os.Stderr, "peacepie:", termtext.Text(err.Error()))
		return 1
	}
	return 0
}

// profileCPU writes a CPU profile of this OS process to PREFIX.PID until the
// returned function is called: a developer's tool to see where a process
// of a running system spends its time (children inherit the variable).
func profileCPU(prefix string) (stop func()) {
	f, err := os.Create(fmt.Sprintf("%s.%d", prefix, os.Getpid()))
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "peacepie: PEACEPIE_CPUPROFILE:", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}

func app() *cli.App {
	sendFlags := []cli.Flag{
		&cli.StringFlag{Name: "url", Usage: "console address (default: from the config)"},
		&cli.StringFlag{Name: "token", Usage: "console token (default: $PEACEPIE_TOKEN, the URL, or the config)", EnvVars: []string{"PEACEPIE_TOKEN"}},
		&cli.StringFlag{Name: "config", Usage: "config file giving the address and token", Value: filepath.Join(config.DefaultDir, config.DefaultFile)},
	}
	requestFlags := append(append([]cli.Flag(nil), sendFlags...),
		&cli.Float64Flag{Name: "timeout", Usage: "seconds to wait for the reply", Value: 10},
		&cli.BoolFlag{Name: "json", Usage: "print the answer as one line of JSON"},
	)
	return &cli.App{
		Name:    "peacepie",
		Usage:   "an actor system whose actors are written in Lua",
		Version: versionLine(),
		CommandNotFound: func(c *cli.Context, name string) {
			msg := fmt.Sprintf("there is no command %q", name)
			if s := suggest(name, c.App.VisibleCommands()); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			fmt.Fprintln(c.App.ErrWriter, "peacepie:", termtext.Line(msg), "(peacepie help lists the commands)")
			cli.OsExiter(2)
		},
		Commands: []*cli.Command{
			{
				Name:      "run",
				Usage:     "start a system (first run: makes ./config with defaults)",
				ArgsUsage: "[CONFIG]",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "console", Usage: "console address, overriding the config (e.g. 127.0.0.1:9191)"},
					&cli.StringFlag{Name: "repos", Usage: "repo list, overriding the config"},
					&cli.StringFlag{Name: "host", Usage: "this host's name, overriding the config (unique in the system)"},
					&cli.StringFlag{Name: "join", Usage: "join the system of the host whose links listen at ADDR (printed at its start)"},
					&cli.StringFlag{Name: "secret-file", Usage: "file with the system's secret (a copy of the first host's config/secret)"},
					&cli.StringFlag{Name: "links", Usage: "address the links listen on, overriding the config (e.g. 127.0.0.1:7000)"},
					&cli.StringFlag{Name: "gossip", Usage: "membership address (UDP and TCP), overriding the config"},
				},
				Action: func(c *cli.Context) error {
					if c.NArg() > 1 {
						return cli.Exit("run takes at most one argument, the config file", 2)
					}
					return system.Run(c.Context, system.Options{
						JoinCommand: "peacepie run",
						ConfigPath:  c.Args().First(),
						Console:     c.String("console"),
						Repos:       c.String("repos"),
						Host:        c.String("host"),
						Join:        c.String("join"),
						SecretFile:  c.String("secret-file"),
						Links:       c.String("links"),
						Gossip:      c.String("gossip"),
						Stdout:      os.Stdout,
						Stderr:      os.Stderr,
					})
				},
			},
			repoCommand(),
			versionCommand(),
			newCommand(),
			testCommand(),
			{
				Name:   "child",
				Usage:  "a child process of a system (started by peacepie run)",
				Hidden: true,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "config", Required: true},
					&cli.StringFlag{Name: "process", Required: true},
					&cli.StringFlag{Name: "host"},
					&cli.StringFlag{Name: "parent", Required: true},
					&cli.IntFlag{Name: "go-threads"},
					&cli.StringFlag{Name: "repos"},
				},
				Action: func(c *cli.Context) error {
					// The flags above are checked by cli; system parses them
					// again, as an embedding program's children do.
					return system.RunChild(c.Context, os.Args, system.Options{})
				},
			},
			{
				Name:      "attach",
				Usage:     "an interactive shell into a running system",
				ArgsUsage: "[URL]",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "token", Usage: "console token (default: $PEACEPIE_TOKEN, the URL, or the config)", EnvVars: []string{"PEACEPIE_TOKEN"}},
					&cli.StringFlag{Name: "config", Usage: "config file giving the address and token", Value: filepath.Join(config.DefaultDir, config.DefaultFile)},
					&cli.Float64Flag{Name: "timeout", Usage: "seconds to wait for each reply", Value: 10},
				},
				Action: func(c *cli.Context) error {
					if c.NArg() > 1 {
						return cli.Exit("usage: peacepie attach [URL] [--token T]", 2)
					}
					wsURL, token, err := consoleAddress(c, c.Args().First(), 1)
					if err != nil {
						return err
					}
					history := ""
					if home, err := os.UserHomeDir(); err == nil {
						history = filepath.Join(home, ".peacepie_history")
					}
					// Ctrl-C belongs to the REPL (it ends a watch), not to main's context.
					err = repl.Run(context.WithoutCancel(c.Context), repl.Options{
						WSURL: wsURL, Token: token, Out: os.Stdout, Err: os.Stderr, HistoryFile: history,
						Timeout: time.Duration(c.Float64("timeout") * float64(time.Second)),
					})
					if err != nil {
						return cli.Exit(err.Error(), 1)
					}
					return nil
				},
			},
			{
				Name:      "ask",
				Usage:     "ask an actor and print its reply",
				ArgsUsage: "[URL] RECIPIENT COMMAND [BODY]",
				Flags:     requestFlags,
				Action:    func(c *cli.Context) error { return request(c, "ask") },
			},
			{
				Name:      "send",
				Usage:     "send a command to an actor without waiting for a reply",
				ArgsUsage: "[URL] RECIPIENT COMMAND [BODY]",
				Flags:     sendFlags,
				Action:    func(c *cli.Context) error { return request(c, "send") },
			},
		},
	}
}

// request does one ask or send: exit code 0 on success, 1 when the answer
// is a failure (error, timeout, …is_not_…), 2 on bad usage or no connection.
func request(c *cli.Context, kind string) error {
	args := c.Args().Slice()
	rawURL := c.String("url")
	if len(args) > 0 && strings.Contains(args[0], "://") {
		rawURL, args = args[0], args[1:]
	}
	if len(args) < 2 || len(args) > 3 {
		return cli.Exit(fmt.Sprintf("usage: peacepie %s [URL] RECIPIENT COMMAND [BODY]", kind), 2)
	}
	wsURL, token, err := consoleAddress(c, rawURL, 2)
	if err != nil {
		return err
	}
	recipient := any(args[0])
	if strings.HasPrefix(args[0], "{") {
		if recipient, err = host.UnmarshalValue([]byte(args[0])); err != nil {
			return cli.Exit(fmt.Sprintf("RECIPIENT is not valid JSON: %v", err), 2)
		}
	}
	var body any
	if len(args) == 3 {
		if body, err = host.UnmarshalValue([]byte(args[2])); err != nil {
			return cli.Exit(fmt.Sprintf("BODY is not valid JSON: %v", err), 2)
		}
	}
	timeout := time.Duration(c.Float64("timeout") * float64(time.Second))
	if kind == "send" {
		timeout = 10 * time.Second // for the console's "sent"
	}
	if timeout <= 0 {
		return cli.Exit("--timeout must be above zero", 2)
	}
	ctx, cancel := context.WithTimeout(c.Context, timeout+5*time.Second)
	defer cancel()
	conn, err := client.Dial(ctx, wsURL, token)
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	defer conn.Close()
	answer, err := conn.Request(ctx, kind, recipient, args[1], body, timeout)
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	if err := printAnswer(os.Stdout, answer, c.Bool("json")); err != nil {
		return cli.Exit(err.Error(), 2)
	}
	if client.IsFailure(answer.Command) {
		return cli.Exit("", 1)
	}
	return nil
}

// consoleAddress finds the console's WebSocket URL and the token: from the
// URL given (the printed one carries the token), --token or
// $PEACEPIE_TOKEN, else the config. Without a URL the address is the one
// the running system wrote next to the config (config.ConsoleFile), or
// the config's console; the console there must prove it knows the token
// (client.Check) before the token is sent, else the command exits with
// code, saying where the address came from.
func consoleAddress(c *cli.Context, rawURL string, code int) (string, string, error) {
	token := c.String("token")
	var wsURL string
	if rawURL != "" {
		var urlToken string
		var err error
		if wsURL, urlToken, err = client.WSURL(rawURL); err != nil {
			return "", "", cli.Exit(err.Error(), 2)
		}
		if token == "" {
			token = urlToken // the URL printed by peacepie run carries it
		}
	}
	if wsURL == "" || token == "" {
		cfg, err := config.Read(c.String("config"))
		if errors.Is(err, fs.ErrNotExist) {
			return "", "", cli.Exit(fmt.Sprintf("no peacepie system seems to run here: there is no %s. Start one in this directory with "+
				"`peacepie run`, or give the console's URL that `peacepie run` printed: peacepie ask URL RECIPIENT COMMAND", c.String("config")), 2)
		}
		if err != nil {
			return "", "", cli.Exit(fmt.Sprintf("no console address or token given, and the config cannot tell them: %v", err), 2)
		}
		if token == "" {
			token = cfg.Token
		}
		if wsURL == "" {
			addr, from, err := runningConsole(cfg)
			if err != nil {
				return "", "", cli.Exit(err.Error(), 2)
			}
			if wsURL, _, err = client.WSURL(addr); err != nil {
				return "", "", cli.Exit(fmt.Sprintf("%s (%s)", err, from), 2)
			}
			if err := client.Check(c.Context, wsURL, token); err != nil {
				return "", "", cli.Exit(consoleProblem(err, addr, from), code)
			}
		}
	}
	return wsURL, token, nil
}

// runningConsole is the console address of a config's system: the one its
// running `peacepie run` wrote, else the config's, and where it came from.
func runningConsole(cfg config.Config) (addr, from string, err error) {
	addr, err = config.ReadConsoleURL(cfg.Path)
	if err != nil {
		return "", "", err
	}
	if addr != "" {
		return addr, "written by peacepie run in " + config.ConsoleFilePath(cfg.Path), nil
	}
	return cfg.Console, "console in " + cfg.Path, nil
}

// consoleProblem says why the console at addr cannot be used.
func consoleProblem(err error, addr, from string) string {
	switch {
	case errors.Is(err, client.ErrNoAnswer) && strings.HasPrefix(from, "written"):
		return fmt.Sprintf("no peacepie system seems to run here: no console answers at %s (%s); the system that wrote it is not running, or cannot be reached; "+
			"a run that was killed leaves the file behind: remove it, and start one with `peacepie run` (%v)", addr, from, err)
	case errors.Is(err, client.ErrNoAnswer):
		return fmt.Sprintf("no peacepie system seems to run here: no console answers at %s (%s). Start one with `peacepie run`, "+
			"or give the URL of one started with --console elsewhere (%v)", addr, from, err)
	case errors.Is(err, client.ErrNotThisSystem):
		return fmt.Sprintf("the program at %s (%s) is not this config's system: %v", addr, from, err)
	}
	return fmt.Sprintf("%s (%s): %v", addr, from, err)
}

func printAnswer(w io.Writer, m host.Message, compact bool) error {
	// The reply's recipient is this command's own temporary ask address
	// ("_7"): nothing a user can use, so it is not shown.
	m.Recipient = host.Address{}
	data, err := m.MarshalJSON()
	if err != nil {
		return err
	}
	if !compact {
		var buf bytes.Buffer
		if err := json.Indent(&buf, data, "", "  "); err == nil {
			data = buf.Bytes()
		}
	}
	// The strings are the actor's: what a terminal would act on or hide is
	// escaped as JSON escapes it, so the value is the same.
	_, err = fmt.Fprintf(w, "%s\n", termtext.JSON(data))
	return err
}

// flagsFirst moves the flags of ask and send that follow the positional
// arguments in front of them, so "peacepie ask NAME CMD --json" works as
// people type it (urfave/cli stops reading flags at the first argument).
func flagsFirst(args []string) []string {
	if len(args) < 2 || (args[1] != "ask" && args[1] != "send" && args[1] != "attach") {
		return args
	}
	withValue := map[string]bool{"--url": true, "--token": true, "--config": true, "--timeout": true}
	var flags, rest []string
	for i := 2; i < len(args); i++ {
		a := args[i]
		name, _, hasEq := strings.Cut(a, "=")
		switch {
		case a == "--":
			rest = append(rest, args[i+1:]...)
			i = len(args)
		case a == "--json" || a == "-h" || a == "--help":
			flags = append(flags, a)
		case withValue[name] && hasEq:
			flags = append(flags, a)
		case withValue[name] && i+1 < len(args):
			flags = append(flags, a, args[i+1])
			i++
		default:
			rest = append(rest, a)
		}
	}
	out := append([]string{args[0], args[1]}, flags...)
	return append(out, rest...)
}

// repoCommand is `peacepie repo …`: the packages of the repo list.
func repoCommand() *cli.Command {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "config", Usage: "config file (its repo list, lock file and cache)", Value: filepath.Join(config.DefaultDir, config.DefaultFile)},
		&cli.StringFlag{Name: "repos", Usage: "repo list, overriding the config"},
	}
	open := func(c *cli.Context) (*repo.Store, error) {
		cfg, err := config.ReadSettings(c.String("config"))
		if err != nil {
			return nil, cli.Exit(fmt.Sprintf("%v (run `peacepie run` once to make ./config)", err), 2)
		}
		if r := c.String("repos"); r != "" {
			cfg.Repos = r
		}
		log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		return runner.OpenStore(cfg, log)
	}
	return &cli.Command{
		Name:  "repo",
		Usage: "list, fetch, verify and update the packages of the repo list",
		Subcommands: []*cli.Command{
			{
				Name: "list", Usage: "packages, pinned tags, cached versions and locked commits", Flags: flags,
				Action: func(c *cli.Context) error {
					s, err := open(c)
					if err != nil {
						return err
					}
					return repocmd.List(os.Stdout, s)
				},
			},
			{
				Name: "fetch", Usage: "fill the cache and the lock ahead of time", ArgsUsage: "[NAME[==VERSION]]", Flags: flags,
				Action: func(c *cli.Context) error {
					s, err := open(c)
					if err != nil {
						return err
					}
					return repocmd.Fetch(c.Context, os.Stderr, s, c.Args().First())
				},
			},
			{
				Name: "verify", Usage: "check that the cache and the lock agree", Flags: flags,
				Action: func(c *cli.Context) error {
					s, err := open(c)
					if err != nil {
						return err
					}
					return repocmd.Verify(os.Stdout, s)
				},
			},
			{
				Name: "update", Usage: "accept the commits the pinned tags of a package point to now", ArgsUsage: "NAME", Flags: flags,
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return cli.Exit("usage: peacepie repo update NAME", 2)
					}
					s, err := open(c)
					if err != nil {
						return err
					}
					return repocmd.Update(c.Context, os.Stdout, s, c.Args().First())
				},
			},
		},
	}
}

// withUsageExit makes a bad flag or argument exit with code 2, in every
// command (README, "Exit codes").
func withUsageExit(a *cli.App) *cli.App {
	usage := func(_ *cli.Context, err error, _ bool) error { return cli.Exit(err.Error(), 2) }
	a.OnUsageError = usage
	var walk func([]*cli.Command)
	walk = func(cmds []*cli.Command) {
		for _, c := range cmds {
			c.OnUsageError = usage
			walk(c.Subcommands)
		}
	}
	walk(a.Commands)
	return a
}
