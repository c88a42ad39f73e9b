// Package system runs a peacepie system from a Go program: what
// `peacepie run` does (the config directory, the console, child
// processes, other hosts), with Go services for the Lua actors.
//
// A system's child processes run the same program: the head starts its
// own executable with the arguments of a child (IsChild), and the
// program's main must hand them over to RunChild, with the same services,
// before it does anything else. Main does both:
//
//	func main() {
//		kv := newStore()
//		err := system.Main(context.Background(), system.Options{
//			Services: map[string]any{"kv": kv},
//		})
//		if err != nil {
//			log.Fatal(err)
//		}
//	}
//
// A service is reachable only by the packages the repo list grants it to
// (services = ["kv"] in the package's entry); docs/embedding.md says what
// Lua sees of it and the contract a service keeps (it is called from many
// actors' goroutines at once).
package system

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/peacepie/peacepie/internal/runner"
)

// Options are what `peacepie run` takes on its command line, and the
// services the program offers.
type Options struct {
	ConfigPath string // empty: ./config/peacepie.toml, made on first run
	Console    string // overrides the config's console address
	Repos      string // overrides the config's repo list
	Host       string // overrides the config's host name
	Join       string // overrides the config's join address
	SecretFile string // overrides the config's secret file
	Links      string // overrides the config's link address
	Gossip     string // overrides the config's gossip address

	Stdout io.Writer // the console's URL line and what actors print; nil: os.Stdout
	Stderr io.Writer // the log; nil: os.Stderr

	// Services are the Go values the Lua actors may require by name:
	// functions, structs (their exported methods) and maps with string
	// keys. Every process of the system must offer the same (a child runs
	// the same program: give RunChild the same map).
	Services map[string]any

	// JoinCommand is how another host of the system is started, for the
	// line printed at start-up ("other hosts join with: <JoinCommand>
	// --host NAME --console … --join … --secret-file …"); the program's
	// name when empty. Its flags must take those four (Go's flag package
	// reads --host as -host).
	JoinCommand string

	// Packages are Lua packages built into the program (go:embed), besides
	// peacepie's own, each with the services it may require. An entry of
	// the same name in the repo list replaces one, with the list's grants.
	Packages []Package
}

// Package is a Lua package built into the program: its files, the
// manifest (peacepie.toml) at the root, and the services its actors may
// require.
type Package struct {
	Files    fs.FS
	Services []string
}

func (o Options) packages() []runner.Package {
	out := make([]runner.Package, 0, len(o.Packages))
	for _, p := range o.Packages {
		out = append(out, runner.Package{Files: p.Files, Services: p.Services})
	}
	return out
}

// Run runs this process as a host of a system (the first, or one that
// joins: Options.Join) until ctx ends or the system is told to exit;
// both shut it down in order and return nil.
func Run(ctx context.Context, opt Options) error {
	stdout, stderr := outputs(opt.Stdout, opt.Stderr)
	return runner.Run(ctx, runner.Options{
		ConfigPath: opt.ConfigPath, Console: opt.Console, Repos: opt.Repos, Host: opt.Host, Join: opt.Join,
		SecretFile: opt.SecretFile, Links: opt.Links, Gossip: opt.Gossip, Stdout: stdout, Stderr: stderr,
		Services: opt.Services, Packages: opt.packages(), JoinCommand: opt.joinCommand(),
	})
}

// ChildCommand is the first argument a head gives the child processes it
// starts (the program's own executable).
const ChildCommand = "child"

// IsChild reports whether args (os.Args) are those of a child process.
func IsChild(args []string) bool { return len(args) > 1 && args[1] == ChildCommand }

// ErrNotAChild reports arguments that are not a child process's.
var ErrNotAChild = errors.New("not the arguments of a child process")

// RunChild runs the child process that args (os.Args) describe, with the
// process's stdin, stdout and stderr, until its head is gone or ctx ends.
// opt's services and packages must be those the head's program has (its
// other fields are not used: the head passes them on).
func RunChild(ctx context.Context, args []string, opt Options) error {
	if !IsChild(args) {
		return fmt.Errorf("system: %w: %q", ErrNotAChild, args)
	}
	flags := flag.NewFlagSet(ChildCommand, flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	var child runner.ChildOptions
	flags.StringVar(&child.ConfigPath, "config", "", "")
	flags.StringVar(&child.Process, "process", "", "")
	flags.StringVar(&child.Host, "host", "", "")
	flags.StringVar(&child.Parent, "parent", "", "")
	flags.IntVar(&child.GoThreads, "go-threads", 0, "")
	flags.StringVar(&child.Repos, "repos", "", "")
	if err := flags.Parse(args[2:]); err != nil {
		return fmt.Errorf("system: a child process's arguments: %w", err)
	}
	if child.ConfigPath == "" || child.Process == "" || child.Parent == "" {
		return fmt.Errorf("system: a child process needs --config, --process and --parent (its head starts it with them)")
	}
	child.Stdin, child.Stdout, child.Stderr = os.Stdin, os.Stdout, os.Stderr
	child.Services, child.Packages = opt.Services, opt.packages()
	return runner.RunChild(ctx, child)
}

// Main runs this process as a child process if os.Args say so
// (RunChild), else as a host (Run).
func Main(ctx context.Context, opt Options) error {
	if IsChild(os.Args) {
		return RunChild(ctx, os.Args, opt)
	}
	return Run(ctx, opt)
}

func (o Options) joinCommand() string {
	if o.JoinCommand != "" {
		return o.JoinCommand
	}
	return filepath.Base(os.Args[0])
}

func outputs(stdout, stderr io.Writer) (io.Writer, io.Writer) {
	if stdout == nil {
		stdout = os.Stdout
	}
	if stderr == nil {
		stderr = os.Stderr
	}
	return stdout, stderr
}
