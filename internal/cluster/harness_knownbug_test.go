//go:build knownbug

package cluster_test

// This file reproduces an open bug, so that whoever fixes it has the
// reproduction: moves into or out of the head's own process under a
// stream lose the order of messages about once in 20 runs (see "Known
// bugs" in docs/architecture.md). It is built only with the knownbug tag,
// so make test and CI do not run it:
//
//	go test -tags knownbug -race -count=20 -run ThroughTheHead ./internal/cluster/
//
// When the bug is fixed, delete the build tag and this comment.

import (
	"io/fs"
	"testing"

	"github.com/peacepie/peacepie/internal/cluster/clustertest"
)

// TestHarnessStreamAcrossMovesThroughTheHead is TestHarnessStreamAcrossMoves
// with the head's own process in the round. It fails about once in 20 runs
// under -race (a message lost for a while and delivered late, or two
// neighbours swapped, next to a move into or out of the head's process),
// and it logs the numbers out of order and where they arrived.
func TestHarnessStreamAcrossMovesThroughTheHead(t *testing.T) {
	s := clustertest.Start(t, clustertest.Options{Children: 3, Packages: []fs.FS{diagPkg}})
	c := s.Children
	streamWhileMoving(t, s, c[0], []string{c[1], c[2], s.Main.AdminName(), c[0]}, 10000, 250, 12, true)
}
