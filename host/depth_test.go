package host_test

import (
	"strings"
	"testing"

	"github.com/peacepie/peacepie/host"
)

// nested returns a body of n levels of arrays.
func nested(n int) any {
	var v any = "x"
	for range n {
		v = host.Array{v}
	}
	return v
}

// TestDeepestBodyTravels: a body as deep as a Lua actor may send
// (host.MaxDepth levels) decodes at the receiving process, in a message and
// in the reply of a move that carries it as a param and as a queued
// message; one level more than the envelopes allow is refused.
func TestDeepestBodyTravels(t *testing.T) {
	deepest := nested(host.MaxDepth)
	queued, err := host.MessageValue(host.Message{Command: "c", Body: deepest, Recipient: host.Address{Entity: "a"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		body any
	}{
		{"a message", deepest},
		{"a move's reply", host.Object{
			{Key: "params", Value: host.Object{{Key: "p", Value: deepest}}},
			{Key: "queue", Value: host.Array{queued}},
		}},
	} {
		m := host.Message{Command: "moved_out", Body: tt.body, Recipient: host.Address{Entity: "a"}}
		data, err := m.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var got host.Message
		if err := got.UnmarshalJSON(data); err != nil {
			t.Errorf("%s with a body of %d levels: %v", tt.name, host.MaxDepth, err)
		}
		if _, err := host.UnmarshalValue(data); err != nil {
			t.Errorf("%s with a body of %d levels, generic decoder: %v", tt.name, host.MaxDepth, err)
		}
	}
	tooDeep := strings.Repeat("[", 100) + strings.Repeat("]", 100)
	if _, err := host.UnmarshalValue([]byte(tooDeep)); err == nil || !strings.Contains(err.Error(), "nested deeper than") {
		t.Errorf("100 levels: %v, want refused", err)
	}
}
