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

// TestHarnessMoveHoldsAtMostTheMailboxLimit: what is sent to an actor
// while it moves waits at the root, up to the mailbox limit; more is
// refused at once (mailbox_is_full), as the mailbox would refuse it, and
// what waited is delivered after the move (into a mailbox with the same
// bound).
func TestHarnessMoveHoldsAtMostTheMailboxLimit(t *testing.T) {
	const limit, sent = 10, 15
	s := clustertest.Start(t, clustertest.Options{Children: 2, MailboxLimit: limit})
	c := s.Children
	s.CreateActor(t, c[0], "echo", "peacepie_std", "Echo", "")
	stuck := s.Hold(t, c[0], `"command":"moved_out"`)
	moved := make(chan error, 1)
	go func() { moved <- s.Move("echo", c[1]) }()
	stuck.Wait(t)

	var mu sync.Mutex
	answers := map[string]int{}
	var wg sync.WaitGroup
	for range sent {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.Main.Process.Ask(context.Background(), host.Message{Command: "echo", Recipient: host.Address{Entity: "echo"}}, 20*time.Second)
			answer := r.Command
			if answer == "" {
				answer = err.Error()
			}
			mu.Lock()
			answers[answer]++
			mu.Unlock()
		}()
	}
	s.Eventually(t, "the asks past the limit to be refused", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return answers["mailbox_is_full"] == sent-limit
	})
	stuck.Release()
	if err := <-moved; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	// What waited goes into the new mailbox behind the actor's start, which
	// takes one of its places: one more may be refused there.
	if answers["echoed"]+answers["mailbox_is_full"] != sent || answers["echoed"] < limit-1 {
		t.Fatalf("answers %v, want %d echoed (or one less, mailbox_is_full)", answers, limit)
	}
}

// TestHarnessFlushHoldsAtMostTheMailboxLimit: what a host's processes send
// to a name whose flush is on waits at the host's head, up to the mailbox
// limit; more is refused at once (mailbox_is_full), and what waited goes
// to the actor once the flush is done.
func TestHarnessFlushHoldsAtMostTheMailboxLimit(t *testing.T) {
	const limit, sent = 10, 15
	s := clustertest.Start(t, clustertest.Options{MailboxLimit: limit})
	second := s.Join(t, clustertest.Options{Host: "second", Children: 1, MailboxLimit: limit})
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

	var mu sync.Mutex
	answers := map[string]int{}
	var wg sync.WaitGroup
	for range sent {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := second.Main.Process.Ask(context.Background(), host.Message{Command: "echo", Recipient: host.Address{Entity: "echo"}}, 20*time.Second)
			answer := r.Command
			if answer == "" {
				answer = err.Error()
			}
			mu.Lock()
			answers[answer]++
			mu.Unlock()
		}()
	}
	s.Eventually(t, "the asks past the limit to be refused", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return answers["mailbox_is_full"] == sent-limit
	})
	stuck.Release()
	if r := <-created; r.Command != "actor_is_created" {
		t.Fatalf("create echo: %s %v", r.Command, r.Body)
	}
	wg.Wait()
	if answers["echoed"]+answers["mailbox_is_full"] != sent || answers["echoed"] < limit-1 {
		t.Fatalf("answers %v, want %d echoed (or one less, mailbox_is_full)", answers, limit)
	}
}

// TestHarnessRouteFlushHoldsAtMostTheMailboxLimit: what a process sends to
// an actor that has just moved into it waits for the actor's route flush
// (its earlier messages to it may still be on their way round by the
// head), up to the mailbox limit; more is refused at once.
func TestHarnessRouteFlushHoldsAtMostTheMailboxLimit(t *testing.T) {
	const limit, sent = 10, 15
	s := clustertest.Start(t, clustertest.Options{Children: 2, MailboxLimit: limit})
	c := s.Children
	s.CreateActor(t, c[0], "echo", "peacepie_std", "Echo", "")
	stuck := s.Hold(t, c[1], `"command":"route_flush"`)
	if err := s.Move("echo", c[1]); err != nil {
		t.Fatal(err)
	}
	stuck.Wait(t)

	var mu sync.Mutex
	answers := map[string]int{}
	var wg sync.WaitGroup
	for range sent {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.Process(c[1]).Ask(context.Background(), host.Message{Command: "echo", Recipient: host.Address{Entity: "echo"}}, 20*time.Second)
			answer := r.Command
			if answer == "" {
				answer = err.Error()
			}
			mu.Lock()
			answers[answer]++
			mu.Unlock()
		}()
	}
	s.Eventually(t, "the asks past the limit to be refused", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return answers["mailbox_is_full"] == sent-limit
	})
	stuck.Release()
	wg.Wait()
	if answers["echoed"]+answers["mailbox_is_full"] != sent || answers["echoed"] < limit-1 {
		t.Fatalf("answers %v, want %d echoed (or one less, mailbox_is_full)", answers, limit)
	}
}
