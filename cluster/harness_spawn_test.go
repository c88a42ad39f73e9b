package cluster_test

import (
	"fmt"
	"io/fs"
	"testing"

	"github.com/peacepie/peacepie/cluster/clustertest"
)

// TestHarnessCreateUnderStreamKeepsOrder: a Pump streams to the name seq,
// which no process has (the root drops those messages); then seq is made
// in another child. What seq gets must be in order from the first number
// it got. The root's directory has the name (reserve_name) before the
// child's registry has the actor; what the root routes there in between
// waits in the child for the actor (Process.Spawn). It used to go back to
// the head and come round again behind later messages, about one run in
// five. Resume logs what came out of order ("got 7001 after 7050").
func TestHarnessCreateUnderStreamKeepsOrder(t *testing.T) {
	s := clustertest.Start(t, clustertest.Options{Children: 2, Packages: []fs.FS{diagPkg}})
	c := s.Children
	s.CreateActor(t, c[0], "pump", "peacepie_std", "Pump", "")
	st := startStream(s, "pump", "seq", 50)
	s.Eventually(t, "the stream to flow", func() bool { return st.Sent() >= 500 })
	s.CreateActor(t, c[1], "seq", "diag", "Resume", "")
	made := st.Sent()
	s.Eventually(t, "the stream to go on", func() bool { return st.Sent() >= made+500 })
	last := st.Stop(t)
	s.Eventually(t, fmt.Sprintf("seq to get %d", last), func() bool {
		o, ok := resumeState(t, s, c[0], "seq")
		return ok && intOf(o, "last") == last
	})
	o, _ := resumeState(t, s, c[0], "seq")
	if first := intOf(o, "first"); intOf(o, "errors") != 0 || intOf(o, "count") != last-first+1 {
		t.Fatalf("seq made under a stream: %s (want %d..%d in order)", describeValue(o), first, last)
	}
}

// TestHarnessRestartedChildResumesStreamInOrder: after a restart (see
// TestHarnessRestartedChildComesBack) the stream resumes in order: the
// numbers before the death may be lost, those after arrive once each, in
// order. The restart makes seq again with create_actor, so the same bug
// reorders the first numbers after it.
func TestHarnessRestartedChildResumesStreamInOrder(t *testing.T) {
	_, o, last := restartUnderStream(t)
	if first := intOf(o, "first"); intOf(o, "errors") != 0 || intOf(o, "count") != last-first+1 {
		t.Fatalf("after the restart seq got %d numbers from %d to %d, %d out of order: %s", intOf(o, "count"), first, last, intOf(o, "errors"), describeValue(o))
	}
}
