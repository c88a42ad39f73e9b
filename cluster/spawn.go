package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// ChildSpec is what a head gives a child process it starts.
type ChildSpec struct {
	Host    string // the host's name
	Process string // the child's process name ("process_3")
	Node    string // its admin's name, which it must link as ("first.process_3.admin")
	Parent  string // the head's link address, to link.Dial
	Secret  []byte // the system's secret
	// GoThreads is its share of the cores (HeadConfig.ShareCores); 0: it
	// keeps what it has.
	GoThreads int
}

// ChildProcess is a started child process, as its head supervises it.
// The head learns that the child is linked, and that it died, from its
// link alone; ChildProcess only ends it.
type ChildProcess interface {
	// Pid is the child's process id, as get_processes lists it.
	Pid() int
	// Release tells the child its head lets it go (a real child's stdin
	// closes, on which it exits). The head calls it once the child's link
	// ended.
	Release()
	// Kill ends the child at once.
	Kill()
	// Wait returns once the child has ended.
	Wait()
}

// SpawnFunc starts a child process (HeadConfig.Spawn). Once it returns,
// the head waits for the child to link as spec.Node to spec.Parent with
// spec.Secret, and kills it (Kill, then Wait) if it does not in time.
type SpawnFunc func(ctx context.Context, spec ChildSpec) (ChildProcess, error)

// execChild is a child process of the same binary, the real one.
type execChild struct {
	cmd   *exec.Cmd
	in    *os.File      // its stdin: it exits when this closes
	ended chan struct{} // closed once cmd.Wait returned (waitOnce)
	once  sync.Once
}

func (c *execChild) Pid() int { return c.cmd.Process.Pid }
func (c *execChild) Release() { c.in.Close() }
func (c *execChild) Kill()    { c.cmd.Process.Kill() }
func (c *execChild) Wait()    { c.waitOnce(); <-c.ended }

// waitOnce reaps the process once, whoever asks first.
func (c *execChild) waitOnce() {
	c.once.Do(func() {
		go func() {
			c.cmd.Wait()
			close(c.ended)
		}()
	})
}

// ExitStatus returns how the process ended ("signal: killed", "exit
// status 2") if it ended within d other than with status 0; "" when it
// ended well or still runs.
func (c *execChild) ExitStatus(d time.Duration) string {
	c.waitOnce()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.ended:
	case <-t.C:
		return ""
	}
	if st := c.cmd.ProcessState; st != nil && !st.Success() {
		return st.String()
	}
	return ""
}

// spawnExec runs the hidden command "peacepie child" of cfg.Executable and
// passes it the secret on its stdin.
func (h *Head) spawnExec(_ context.Context, spec ChildSpec) (ChildProcess, error) {
	args := []string{"child", "--config", h.cfg.ConfigPath, "--host", spec.Host, "--process", spec.Process, "--parent", spec.Parent}
	if spec.GoThreads > 0 {
		args = append(args, "--go-threads", strconv.Itoa(spec.GoThreads))
	}
	args = append(args, h.cfg.ChildArgs...)
	cmd := exec.Command(h.cfg.Executable, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // dies with its parent
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("stdin pipe: %w", err)
	}
	cmd.Stdin = r
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("start %s: %w", h.cfg.Executable, err)
	}
	r.Close()
	if _, err := fmt.Fprintf(w, "%s\n", spec.Secret); err != nil {
		w.Close()
		cmd.Process.Kill()
		go cmd.Wait()
		return nil, fmt.Errorf("pass the secret: %w", err)
	}
	return &execChild{cmd: cmd, in: w, ended: make(chan struct{})}, nil
}
