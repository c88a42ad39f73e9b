package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"

	lua "github.com/yuin/gopher-lua"
)

// version is peacepie's version; a release build may set it with
// -ldflags "-X main.version=...".
var version = "0.9.0-dev"

// versionLine is what --version prints after "peacepie version".
func versionLine() string {
	v := version
	if commit, dirty := buildCommit(); commit != "" {
		v += " (" + commit + dirty + ")"
	}
	return v
}

// buildCommit is the Git commit the binary was built from, if the build
// recorded it, and "+changes" when the tree had changes.
func buildCommit() (commit, dirty string) {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "", ""
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
			if len(commit) > 12 {
				commit = commit[:12]
			}
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+changes"
			}
		}
	}
	return commit, dirty
}

// versionCommand is `peacepie version`: the version and what it is built from.
func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version, its commit, Go's version and gopher-lua's with its patches",
		Action: func(c *cli.Context) error {
			w := c.App.Writer
			fmt.Fprintf(w, "peacepie %s\n", versionLine())
			fmt.Fprintf(w, "go %s %s/%s\n", strings.TrimPrefix(runtime.Version(), "go"), runtime.GOOS, runtime.GOARCH)
			fmt.Fprintf(w, "gopher-lua: %s of peacepie (third_party/gopher-lua)\n", strings.TrimSpace(lua.PeacepiePatches()))
			return nil
		},
	}
}

// suggest returns the visible command closest to name (at most two edits
// away), or "".
func suggest(name string, cmds []*cli.Command) string {
	best, bestD := "", 3
	for _, c := range cmds {
		for _, n := range c.Names() {
			if d := editDistance(name, n); d < bestD {
				best, bestD = c.Name, d
			}
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, where swapping two
// neighbours counts one edit ("aks" → "ask").
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range rb {
		d[0][j+1] = j + 1
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
