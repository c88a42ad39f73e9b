package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/peacepie/peacepie/internal/scaffold"
)

// newCommand is `peacepie new NAME`: a package directory ready to use.
func newCommand() *cli.Command {
	return &cli.Command{
		Name:      "new",
		Usage:     "make a new Lua package: manifest, one actor, editor support, a Git repository",
		ArgsUsage: "NAME",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return cli.Exit("new takes one argument, the package's name (e.g. peacepie new counter)", 2)
			}
			name := c.Args().First()
			p, err := scaffold.New(name, name, time.Now())
			if err != nil {
				return cli.Exit(err.Error(), 1)
			}
			w := c.App.Writer
			fmt.Fprintf(w, "created package %s in %s (actor class %s in %s.lua), first commit %s\n\n", p.Name, p.Dir, p.Class, p.Name, p.Commit[:12])
			fmt.Fprintf(w, "next:\n")
			fmt.Fprintf(w, "  1. cd %s && peacepie test && git tag v0.1.0\n", p.Name)
			fmt.Fprintf(w, "  2. add to config/repos.toml where you run peacepie:\n")
			fmt.Fprintf(w, "       [[package]]\n       name = %q\n       url  = %q\n       tags = [\"v0.1.0\"]\n", p.Name, p.Dir)
			fmt.Fprintf(w, "  3. peacepie run, then: peacepie ask first.main.admin create_actor '{\"class_desc\": {\"requires_dist\": %q, \"class\": %q}, \"name\": \"%s_1\"}'\n",
				p.Name, p.Class, p.Name)
			return nil
		},
	}
}
