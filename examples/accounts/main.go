// Command accounts is a worked example of embedding peacepie in a Go
// program: it offers its Lua actors a Go service, "passwords" (bcrypt,
// from golang.org/x/crypto), and builds in the Lua package "accounts"
// (the lua directory), whose actor keeps users and checks their
// passwords with the service. See README.md beside it.
package main

import (
	"context"
	"embed"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/crypto/bcrypt"

	"github.com/peacepie/peacepie/system"
)

//go:embed lua
var luaFiles embed.FS

// Passwords hashes and checks passwords. bcrypt is slow on purpose (tens
// of milliseconds a hash): a call blocks only the actor that makes it and
// does not count against its handler's time budget. It holds no state,
// so any number of actors may call it at once.
type Passwords struct {
	Cost int // bcrypt's cost; bcrypt.DefaultCost when 0
}

// Hash returns the bcrypt hash of password.
func (p *Passwords) Hash(password string) (string, error) {
	cost := p.Cost
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return "", fmt.Errorf("hash: %w", err)
	}
	return string(h), nil
}

// Check reports whether password is the one hash was made from.
func (p *Passwords) Check(hash, password string) bool {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

func main() {
	pkg, err := fs.Sub(luaFiles, "lua")
	if err != nil {
		panic(err)
	}
	// The same services and packages in every process of the system:
	// the head starts its child processes as this program.
	opt := system.Options{
		Services: map[string]any{"passwords": &Passwords{}},
		Packages: []system.Package{{Files: pkg, Services: []string{"passwords"}}},
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if system.IsChild(os.Args) { // before anything else: a child's arguments are the head's
		if err := system.RunChild(ctx, os.Args, opt); err != nil {
			fmt.Fprintln(os.Stderr, "accounts:", err)
			os.Exit(1)
		}
		return
	}
	flag.StringVar(&opt.Console, "console", "", "console address (default: the config's, 127.0.0.1:9090)")
	flag.StringVar(&opt.Host, "host", "", "this host's name (default: the config's)")
	flag.StringVar(&opt.Join, "join", "", "join the system whose first host's links listen at ADDR")
	flag.StringVar(&opt.SecretFile, "secret-file", "", "the system's secret (a copy of the first host's config/secret)")
	flag.Parse()
	if err := system.Run(ctx, opt); err != nil {
		fmt.Fprintln(os.Stderr, "accounts:", err)
		os.Exit(1)
	}
}
