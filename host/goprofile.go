package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime/pprof"
	"slices"
	"time"
)

// Go profiles of any process of the system (get_go_profile): the console
// serves its own process's at /debug/pprof/ and asks the others' through
// their admins (web: /debug/pprof/node/NODE/PROFILE), so a child, which
// has no HTTP server, is profiled the same way.

// GoProfiles are the profiles GoProfile takes: runtime/pprof's, and
// "profile", a CPU profile.
var GoProfiles = []string{"allocs", "block", "goroutine", "heap", "mutex", "profile", "threadcreate"}

// MaxGoProfileBytes bounds a profile sent in a message (base64 makes it a
// third larger, within MaxBodyBytes).
const MaxGoProfileBytes = 12 << 20

// GoProfile returns the named profile of this process in pprof's format;
// "profile" samples the CPU for d (at most MaxProfileDuration). Only one
// CPU profile runs at a time in a process (PEACEPIE_CPUPROFILE takes one
// for the process's life).
func (p *Process) GoProfile(ctx context.Context, name string, d time.Duration) ([]byte, error) {
	if !slices.Contains(GoProfiles, name) {
		return nil, fmt.Errorf("%w: no Go profile %q (there are %v)", ErrBadRequest, name, GoProfiles)
	}
	var buf bytes.Buffer
	if name == "profile" {
		if d <= 0 || d > MaxProfileDuration {
			return nil, fmt.Errorf("%w: \"seconds\" must be more than 0 and at most %v, not %v", ErrBadRequest, MaxProfileDuration.Seconds(), d.Seconds())
		}
		if err := pprof.StartCPUProfile(&buf); err != nil {
			return nil, fmt.Errorf("a CPU profile is already being taken in this process: %w", err)
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
		case <-p.done:
		}
		t.Stop()
		pprof.StopCPUProfile()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	} else if err := pprof.Lookup(name).WriteTo(&buf, 0); err != nil {
		return nil, fmt.Errorf("the %s profile: %w", name, err)
	}
	if buf.Len() > MaxGoProfileBytes {
		return nil, errors.New("the profile is larger than a message may carry (12 MiB): take it with PEACEPIE_CPUPROFILE, or from the main process's /debug/pprof/")
	}
	return buf.Bytes(), nil
}
