package runner

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/luart"
	"github.com/peacepie/peacepie/repo"
)

// devPoll is how often a process looks at its development packages' files.
const devPoll = 300 * time.Millisecond

// watchDev reloads, in this process, the actors of the development
// packages of the repo list (path entries) when their files change: each
// is made again in place from the package's files as they are now
// (host.Process.Recreate: same name, params and queued messages). A
// change that does not compile leaves the old code running and is logged
// with its file and line. Every process of a host polls the same
// directories itself; a host where a path does not exist skips it.
func watchDev(ctx context.Context, store *repo.Store, rt *luart.Runtime, proc *host.Process, log *slog.Logger) {
	seen := map[string]string{}
	t := time.NewTicker(devPoll)
	defer t.Stop()
	for {
		for _, e := range store.DevEntries() {
			h := repo.DevHash(e.Path)
			if h == "" || seen[e.Name] == h {
				continue
			}
			first := seen[e.Name] == ""
			seen[e.Name] = h
			if !first {
				reloadDev(ctx, rt, proc, e.Name, log)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-proc.Done():
			return
		case <-t.C:
		}
	}
}

// reloadDev makes the actors of package pkg in proc again from its
// current files.
func reloadDev(ctx context.Context, rt *luart.Runtime, proc *host.Process, pkg string, log *slog.Logger) {
	var names []host.ActorInfo
	for _, a := range proc.Actors() {
		if a.Class.Package == pkg && strings.HasPrefix(a.Class.Commit, repo.DevPrefix) {
			names = append(names, a)
		}
	}
	if len(names) == 0 {
		return
	}
	n := 0
	for _, a := range names {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		class, err := rt.Resolve(cctx, host.ClassDesc{RequiresDist: pkg, Class: a.Class.Class})
		if err == nil {
			err = proc.Recreate(cctx, a.Name, class)
		}
		cancel()
		if err != nil {
			log.Error("a development package's change does not load: the old code runs on", "package", pkg, "actor", a.Name, "error", err.Error())
			return
		}
		n++
	}
	log.Info("development package reloaded", "package", pkg, "actors", n)
}
