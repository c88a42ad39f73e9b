package cluster_test

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/peacepie/peacepie/cluster/clustertest"
)

// TestDirectoryReplicasOnEveryHost: with three hosts every head holds a
// replica of the directory, three of them vote, and each replica has
// every name where it lives, also after a move and a removal; when the
// root crashes, the two survivors elect a leader among themselves and
// keep every name.
func TestDirectoryReplicasOnEveryHost(t *testing.T) {
	s := clustertest.Start(t, clustertest.Options{Children: 1})
	second := s.Join(t, clustertest.Options{Host: "second", Children: 1})
	third := s.Join(t, clustertest.Options{Host: "third"})
	hosts := []*clustertest.System{s, second, third}

	s.CreateActor(t, s.Main.AdminName(), "in_root", "peacepie_std", "Echo", "")
	s.CreateActor(t, s.Children[0], "in_child", "peacepie_std", "Echo", "")
	s.CreateActor(t, second.Children[0], "in_second", "peacepie_std", "Echo", "")
	s.CreateActor(t, third.Main.AdminName(), "in_third", "peacepie_std", "Echo", "")
	s.CreateActor(t, s.Children[0], "moving", "peacepie_std", "Echo", "")
	s.CreateActor(t, s.Children[0], "removed", "peacepie_std", "Echo", "")
	if err := s.Move("moving", second.Main.AdminName()); err != nil {
		t.Fatal(err)
	}
	if r := s.Ask(t, s.Children[0], "remove_actor", clustertest.JSON(t, `{"name": "removed"}`)); r.Command != "actor_is_removed" {
		t.Fatalf("remove: %s %v", r.Command, r.Body)
	}
	want := map[string]string{
		"in_root":   s.Main.AdminName(),
		"in_child":  s.Children[0],
		"in_second": second.Children[0],
		"in_third":  third.Main.AdminName(),
		"moving":    second.Main.AdminName(),
	}
	for _, h := range hosts {
		s.Eventually(t, fmt.Sprintf("the replica of %s to hold %v", h.Main.AdminName(), want), func() bool {
			return maps.Equal(h.Head.Replica().Names(), want)
		})
	}
	s.Eventually(t, "three voters", func() bool { return len(s.Head.Replica().Voters()) == 3 })

	rootID := s.Head.Replica().ID()
	s.Crash(t)
	survivors := []*clustertest.System{second, third}
	s.Eventually(t, "the survivors to elect a leader among themselves", func() bool {
		l := second.Head.Replica().Leader()
		return l != 0 && l != rootID && third.Head.Replica().Leader() == l &&
			slices.Contains([]uint64{second.Head.Replica().ID(), third.Head.Replica().ID()}, l)
	})
	for _, h := range survivors {
		if got := h.Head.Replica().Names(); !maps.Equal(got, want) {
			t.Fatalf("after the root's crash %s holds %v, want %v", h.Main.AdminName(), got, want)
		}
	}
}

// TestARemovedReplicaIsReplaced: a host whose link to the root ends is
// declared gone and its replica removed from the group; when it joins
// again it starts a replica under a new ID (an ID is never reused), the
// root adds it, three vote again, and it holds the directory.
func TestARemovedReplicaIsReplaced(t *testing.T) {
	s := clustertest.Start(t, clustertest.Options{})
	second := s.Join(t, clustertest.Options{Host: "second"})
	third := s.Join(t, clustertest.Options{Host: "third"})
	s.CreateActor(t, third.Main.AdminName(), "echo", "peacepie_std", "Echo", "")
	s.Eventually(t, "three voters", func() bool { return len(s.Head.Replica().Voters()) == 3 })
	old := second.Head.Replica().ID()

	second.CutLinksTo(s.Head.Addr())
	s.Eventually(t, "the root to remove the replica of second", func() bool { return s.Head.Replica().Removed(old) })
	s.Eventually(t, "second to join again with a new replica that votes", func() bool {
		id := second.Head.Replica().ID()
		return id != old && slices.Contains(s.Head.Replica().Voters(), id) && len(s.Head.Replica().Voters()) == 3
	})
	want := map[string]string{"echo": third.Main.AdminName()}
	s.Eventually(t, "second's new replica to hold the directory", func() bool {
		return maps.Equal(second.Head.Replica().Names(), want)
	})
}
