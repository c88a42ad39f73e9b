package cluster_test

import (
	"fmt"
	"testing"

	"github.com/peacepie/peacepie/cluster/clustertest"
	"github.com/peacepie/peacepie/host"
)

// TestHarnessNamesRightAfter: a name made in one child is reached from
// another right after its creation was answered; once its removal was
// answered, an ask from another child hears that it is not found, and
// another child can take the name at once.
func TestHarnessNamesRightAfter(t *testing.T) {
	s := clustertest.Start(t, clustertest.Options{Children: 3})
	c := s.Children
	for i := range 30 {
		name := fmt.Sprintf("n%d", i)
		owner, other := c[i%3], c[(i+1)%3]
		s.CreateActor(t, owner, name, "peacepie_std", "Echo", "")
		if r := s.AskFrom(t, other, name, "echo", host.Object{{Key: "i", Value: int64(i)}}); r.Command != "echoed" {
			t.Fatalf("%s made in %s, asked from %s: %s %v", name, owner, other, r.Command, r.Body)
		}
		if r := s.Ask(t, owner, "remove_actor", host.Object{{Key: "name", Value: name}}); r.Command != "actor_is_removed" {
			t.Fatalf("remove %s: %s %v", name, r.Command, r.Body)
		}
		if r := s.AskFrom(t, other, name, "echo", nil); r.Command != "actor_is_not_found" {
			t.Fatalf("%s removed from %s, asked from %s: %s %v", name, owner, other, r.Command, r.Body)
		}
		s.CreateActor(t, other, name, "peacepie_std", "Echo", "")
		if r := s.AskFrom(t, owner, name, "echo", nil); r.Command != "echoed" {
			t.Fatalf("%s made again in %s, asked from %s: %s %v", name, other, owner, r.Command, r.Body)
		}
	}
}
