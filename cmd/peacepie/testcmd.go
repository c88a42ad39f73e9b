package main

import (
	"github.com/urfave/cli/v2"

	"github.com/peacepie/peacepie/internal/luatest"
	"github.com/peacepie/peacepie/internal/termtext"
)

// testCommand is `peacepie test [DIR...]`: the tests of Lua packages.
func testCommand() *cli.Command {
	return &cli.Command{
		Name:      "test",
		Usage:     "run the tests (*_test.lua) of Lua packages, each in a throwaway system with a fake clock",
		ArgsUsage: "[DIR...]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print the results as one JSON document"},
		},
		Action: func(c *cli.Context) error {
			dirs := c.Args().Slice()
			if len(dirs) == 0 {
				dirs = []string{"."}
			}
			var all []luatest.Result
			for _, dir := range dirs {
				rs, err := luatest.Run(c.Context, dir)
				if err != nil {
					return cli.Exit(err.Error(), 2)
				}
				all = append(all, rs...)
			}
			failed, err := luatest.Report(termtext.NewWriter(c.App.Writer), all, c.Bool("json"))
			if err != nil {
				return err
			}
			if failed > 0 {
				return cli.Exit("", 1)
			}
			return nil
		},
	}
}
