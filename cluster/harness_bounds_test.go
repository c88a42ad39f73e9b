package cluster_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peacepie/peacepie/cluster/clustertest"
	"github.com/peacepie/peacepie/host"
)

const boundLimit, boundSent = 10, 15 // mailbox_limit, and the asks sent past a stop

// echoAsks asks "echo" from p n times at once and counts the answers by
// command (or error).
type echoAsks struct {
	mu      sync.Mutex
	answers map[string]int
	wg      sync.WaitGroup
}

func askEcho(p *host.Process, n int) *echoAsks {
	e := &echoAsks{answers: map[string]int{}}
	for range n {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			r, err := p.Ask(context.Background(), host.Message{Command: "echo", Recipient: host.Address{Entity: "echo"}}, 20*time.Second)
			answer := r.Command
			if answer == "" {
				answer = err.Error()
			}
			e.mu.Lock()
			e.answers[answer]++
			e.mu.Unlock()
		}()
	}
	return e
}

func (e *echoAsks) count(answer string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.answers[answer]
}

// refusedPastTheLimit waits until the asks past the limit are refused.
func (e *echoAsks) refusedPastTheLimit(t *testing.T, s *clustertest.System) {
	t.Helper()
	s.Eventually(t, "the asks past the limit to be refused", func() bool { return e.count("mailbox_is_full") == boundSent-boundLimit })
}

// allAnswered waits for every answer: what waited goes into the actor's
// mailbox (behind its start after a move, which takes one of its places:
// one more may be refused there).
func (e *echoAsks) allAnswered(t *testing.T) {
	t.Helper()
	e.wg.Wait()
	if echoed := e.count("echoed"); echoed+e.count("mailbox_is_full") != boundSent || echoed < boundLimit-1 {
		t.Fatalf("answers %v, want %d echoed (or one less, mailbox_is_full)", e.answers, boundLimit)
	}
}

// TestHarnessMoveHoldsAtMostTheMailboxLimit: what is sent to an actor
// while it moves waits at the root, up to the mailbox limit; more is
// refused at once (mailbox_is_full), as the mailbox would refuse it, and
// what waited is delivered after the move (into a mailbox with the same
// bound).
func TestHarnessMoveHoldsAtMostTheMailboxLimit(t *testing.T) {
	s := clustertest.Start(t, clustertest.Options{Children: 2, MailboxLimit: boundLimit})
	c := s.Children
	s.CreateActor(t, c[0], "echo", "peacepie_std", "Echo", "")
	stuck := s.Hold(t, c[0], `"command":"moved_out"`)
	moved := make(chan error, 1)
	go func() { moved <- s.Move("echo", c[1]) }()
	stuck.Wait(t)

	asks := askEcho(s.Main.Process, boundSent)
	asks.refusedPastTheLimit(t, s)
	stuck.Release()
	if err := <-moved; err != nil {
		t.Fatal(err)
	}
	asks.allAnswered(t)
}

// TestHarnessFlushHoldsAtMostTheMailboxLimit: what a host's processes send
// to a name whose flush is on waits at the host's head, up to the mailbox
// limit; more is refused at once (mailbox_is_full), and what waited goes
// to the actor once the flush is done.
func TestHarnessFlushHoldsAtMostTheMailboxLimit(t *testing.T) {
	s := clustertest.Start(t, clustertest.Options{MailboxLimit: boundLimit})
	second := s.Join(t, clustertest.Options{Host: "second", Children: 1, MailboxLimit: boundLimit})
	child := second.Children[0]
	s.Eventually(t, "the root to know the processes of second", func() bool {
		return strings.Contains(describeValue(s.Ask(t, s.Main.AdminName(), "get_hosts", nil).Body), fmt.Sprintf("%q", child))
	})
	// The flush of the name the root gives second is held on second's
	// uplink; so is what follows it there (the answer to create_actor).
	stuck := second.Hold(t, second.Main.AdminName(), `"command":"name_flush"`)
	created := make(chan host.Message, 1)
	go func() {
		created <- s.Ask(t, child, "create_actor", clustertest.JSON(t, `{"class_desc": {"requires_dist": "peacepie_std", "class": "Echo"}, "name": "echo"}`))
	}()
	stuck.Wait(t)

	asks := askEcho(second.Main.Process, boundSent)
	asks.refusedPastTheLimit(t, s)
	stuck.Release()
	if r := <-created; r.Command != "actor_is_created" {
		t.Fatalf("create echo: %s %v", r.Command, r.Body)
	}
	asks.allAnswered(t)
}

// TestHarnessRouteFlushHoldsAtMostTheMailboxLimit: what a process sends to
// an actor that has just moved into it waits for the actor's route flush
// (its earlier messages to it may still be on their way round by the
// head), up to the mailbox limit; more is refused at once.
func TestHarnessRouteFlushHoldsAtMostTheMailboxLimit(t *testing.T) {
	s := clustertest.Start(t, clustertest.Options{Children: 2, MailboxLimit: boundLimit})
	c := s.Children
	s.CreateActor(t, c[0], "echo", "peacepie_std", "Echo", "")
	stuck := s.Hold(t, c[1], `"command":"route_flush"`)
	if err := s.Move("echo", c[1]); err != nil {
		t.Fatal(err)
	}
	stuck.Wait(t)

	asks := askEcho(s.Process(c[1]), boundSent)
	asks.refusedPastTheLimit(t, s)
	stuck.Release()
	asks.allAnswered(t)
}
