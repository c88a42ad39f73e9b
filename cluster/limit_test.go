package cluster_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/peacepie/peacepie/cluster"
	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/internal/testhost"
)

// TestMaxProcessesUnderConcurrentCreates: many create_process at once take
// at most MaxProcesses places; the others are refused at once with
// host.ErrProcessLimit. The children here never link (the executable only
// sleeps), so every place taken stays taken until its caller gives up.
func TestMaxProcessesUnderConcurrentCreates(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "never-links")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\nexec sleep 30\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := testhost.Start(t, host.Config{})
	h, err := cluster.NewHead(p.Process, cluster.HeadConfig{Host: "first", Secret: []byte("s3cret-s3cret-s3cret-s3cret-s3cret"), Listen: "127.0.0.1:0",
		Executable: exe, MaxProcesses: 2})
	if err != nil {
		t.Fatal(err)
	}
	p.SetRemote(h)
	const callers = 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	refused, waited := 0, 0
	start := make(chan struct{})
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_, err := h.CreateProcess(ctx)
			mu.Lock()
			defer mu.Unlock()
			if errors.Is(err, host.ErrProcessLimit) {
				refused++
			} else {
				waited++
			}
		}()
	}
	close(start)
	wg.Wait()
	if waited != 2 || refused != callers-2 {
		t.Fatalf("%d concurrent create_process with max_processes = 2: %d took a place, %d were refused; want 2 and %d", callers, waited, refused, callers-2)
	}
}
