package luart

import (
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/peacepie/peacepie/host"
)

// Sampling an actor for the Lua profiler (host.Process.ProfileLua): every
// actor's state has a sample hook (patch 0008 of gopher-lua) that does
// nothing unless a profile is set; a sample is the stack of Lua functions
// the actor runs, from its handler ("Class:command") inwards, each frame
// "name (file:line)" where the function is defined.

// maxSampleFrames bounds the frames of one sample (the innermost are kept).
const maxSampleFrames = 64

// StartSampling implements host.Sampler.
func (b *actor) StartSampling(p *host.Profile) bool { return b.profile.CompareAndSwap(nil, p) }

// StopSampling implements host.Sampler.
func (b *actor) StopSampling(p *host.Profile) { b.profile.CompareAndSwap(p, nil) }

// RequestSample implements host.Sampler.
func (b *actor) RequestSample() {
	if b.profile.Load() != nil {
		b.L.RequestSample()
	}
}

// sample is the state's sample hook: on the actor's goroutine, between two
// instructions.
func (b *actor) sample(L *lua.LState) {
	p := b.profile.Load()
	if p == nil {
		return
	}
	var frames []string
	for i := 0; i < maxSampleFrames; i++ {
		dbg, ok := L.GetStack(i)
		if !ok {
			break
		}
		if _, err := L.GetInfo("nS", dbg, lua.LNil); err != nil {
			break
		}
		frames = append(frames, frameName(dbg))
	}
	var sb strings.Builder
	sb.WriteString(collapsedSafe(b.cls.name + ":" + b.handling))
	for i := len(frames) - 1; i >= 0; i-- {
		sb.WriteByte(';')
		sb.WriteString(frames[i])
	}
	p.Add(sb.String())
}

// frameName names a frame for a collapsed stack: "name (file:line)", or
// "(file:line)" for a function called without a name (a handler, from
// Go), or "name [Go]" for a Go function.
func frameName(dbg *lua.Debug) string {
	name := dbg.Name
	if dbg.What == "G" {
		if name == "" {
			name = "?"
		}
		return collapsedSafe(name + " [Go]")
	}
	where := strings.TrimPrefix(dbg.Source, "@") + ":" + strconv.Itoa(dbg.LineDefined)
	if name == "main chunk" && dbg.LineDefined > 0 {
		name = "" // gopher-lua's name for a function called from Go (a handler)
	}
	if name == "" {
		return collapsedSafe("(" + where + ")")
	}
	return collapsedSafe(name + " (" + where + ")")
}

// collapsedSafe keeps the collapsed format's separators out of a frame.
func collapsedSafe(s string) string {
	return strings.NewReplacer(";", ",", "\n", " ").Replace(s)
}
