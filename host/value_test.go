package host_test

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/peacepie/peacepie/host"
)

// TestValueRoundTrip decodes JSON text, checks the Go value, encodes it
// again and checks the text that comes back.
func TestValueRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want any    // the decoded value
		out  string // the re-encoded text; "" means the same as in
	}{
		{"null", `null`, nil, ""},
		{"true", `true`, true, ""},
		{"false", `false`, false, ""},
		{"zero", `0`, int64(0), ""},
		{"integer", `42`, int64(42), ""},
		{"negative integer", `-17`, int64(-17), ""},
		{"max int64", `9223372036854775807`, int64(math.MaxInt64), ""},
		{"min int64", `-9223372036854775808`, int64(math.MinInt64), ""},
		{"beyond int64 is a float", `9223372036854775808`, float64(9223372036854775808), `9.223372036854776e+18`},
		{"float", `2.5`, 2.5, ""},
		{"negative float", `-0.125`, -0.125, ""},
		{"huge float", `1e300`, 1e300, `1e+300`},
		{"tiny float", `1e-300`, 1e-300, ""},
		{"integral float keeps its fraction", `2.0`, 2.0, ""},
		{"integral float in exponent form", `2e0`, 2.0, `2.0`},
		{"large integral float", `1e20`, 1e20, `1e+20`},
		{"string", `"hello"`, "hello", ""},
		{"empty string", `""`, "", ""},
		{"escapes", `"a\"b\\c\/d\n\r\t"`, "a\"b\\c/d\n\r\t", `"a\"b\\c/d\n\r\t"`},
		{"control characters", `"\u0000\u0001\u001f\b\f"`, "\x00\x01\x1f\b\f", `"\u0000\u0001\u001f\u0008\u000c"`},
		{"unicode", `"héllo ✓ 世界 🎉"`, "héllo ✓ 世界 🎉", ""},
		{"unicode escapes", `"\u00e9\ud83c\udf89"`, "é🎉", `"é🎉"`},
		{"empty array", `[]`, host.Array{}, ""},
		{"empty object", `{}`, host.Object{}, ""},
		{"array", `[1,"a",null,true,2.5]`, host.Array{int64(1), "a", nil, true, 2.5}, ""},
		{"whitespace", " [ 1 , 2 ] \n", host.Array{int64(1), int64(2)}, `[1,2]`},
		{"object keeps key order", `{"z":1,"a":2,"m":3}`,
			host.Object{{Key: "z", Value: int64(1)}, {Key: "a", Value: int64(2)}, {Key: "m", Value: int64(3)}}, ""},
		{"empty array and empty object stay distinct", `{"a":[],"o":{}}`,
			host.Object{{Key: "a", Value: host.Array{}}, {Key: "o", Value: host.Object{}}}, ""},
		{"nested", `{"a":[{"b":[[],{}]},null],"c":{"d":{"e":-1}}}`,
			host.Object{
				{Key: "a", Value: host.Array{host.Object{{Key: "b", Value: host.Array{host.Array{}, host.Object{}}}}, nil}},
				{Key: "c", Value: host.Object{{Key: "d", Value: host.Object{{Key: "e", Value: int64(-1)}}}}},
			}, ""},
		{"object key with escapes", `{"a\"b\n":null}`, host.Object{{Key: "a\"b\n", Value: nil}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := host.UnmarshalValue([]byte(tt.in))
			if err != nil {
				t.Fatalf("UnmarshalValue(%s): %v", tt.in, err)
			}
			if !reflect.DeepEqual(v, tt.want) {
				t.Fatalf("UnmarshalValue(%s) = %#v, want %#v", tt.in, v, tt.want)
			}
			out, err := host.MarshalValue(v)
			if err != nil {
				t.Fatalf("MarshalValue(%#v): %v", v, err)
			}
			want := tt.out
			if want == "" {
				want = tt.in
			}
			if string(out) != want {
				t.Fatalf("MarshalValue = %s, want %s", out, want)
			}
			// The encoded text decodes to the same value again.
			again, err := host.UnmarshalValue(out)
			if err != nil {
				t.Fatalf("UnmarshalValue(%s): %v", out, err)
			}
			if !reflect.DeepEqual(again, v) {
				t.Fatalf("second round trip: %#v, want %#v", again, v)
			}
			// And it is valid JSON for the standard library too.
			if !json.Valid(out) {
				t.Fatalf("%s is not valid JSON", out)
			}
		})
	}
}

func TestMarshalValueGoValues(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"int", 7, `7`},
		{"int64", int64(-7), `-7`},
		{"float integral", 3.0, `3.0`},
		{"float negative integral", -3.0, `-3.0`},
		{"float zero", 0.0, `0.0`},
		{"float fraction", 0.1, `0.1`},
		{"invalid utf-8 becomes U+FFFD", "a\xffb\xc3", `"a\ufffdb\ufffd"`},
		{"DEL is not escaped", "\x7f", "\"\x7f\""},
		{"html characters are kept", "<a&b>", `"<a&b>"`},
		{"nil array", host.Array(nil), `[]`},
		{"nil object", host.Object(nil), `{}`},
		{"duplicate keys are kept in order", host.Object{{Key: "a", Value: int64(1)}, {Key: "a", Value: int64(2)}}, `{"a":1,"a":2}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := host.MarshalValue(tt.in)
			if err != nil {
				t.Fatalf("MarshalValue(%#v): %v", tt.in, err)
			}
			if string(out) != tt.want {
				t.Fatalf("MarshalValue(%#v) = %s, want %s", tt.in, out, tt.want)
			}
			if !json.Valid(out) {
				t.Fatalf("%s is not valid JSON", out)
			}
		})
	}
}

func TestInvalidUTF8DecodesToReplacement(t *testing.T) {
	out, err := host.MarshalValue("x\xff")
	if err != nil {
		t.Fatal(err)
	}
	v, err := host.UnmarshalValue(out)
	if err != nil {
		t.Fatal(err)
	}
	if v != "x\ufffd" {
		t.Fatalf("got %q, want %q", v, "x\ufffd")
	}
}

func TestUnmarshalValueRepairsText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"invalid UTF-8 in the input", "\"a\xffb\"", "a\ufffdb"},
		{"lone high surrogate", `"\ud800x"`, "\ufffdx"},
		{"lone low surrogate", `"\udc00"`, "\ufffd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := host.UnmarshalValue([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if v != tt.want {
				t.Fatalf("got %q, want %q", v, tt.want)
			}
		})
	}
}

func TestAppendValue(t *testing.T) {
	buf := []byte("prefix:")
	buf, err := host.AppendValue(buf, host.Array{int64(1), "x"})
	if err != nil {
		t.Fatal(err)
	}
	if string(buf) != `prefix:[1,"x"]` {
		t.Fatalf("got %s", buf)
	}
}

func TestUnmarshalValueErrors(t *testing.T) {
	tests := []struct{ name, in string }{
		{"empty", ``},
		{"only spaces", `   `},
		{"truncated array", `[1, 2`},
		{"truncated object", `{"a": 1`},
		{"truncated key", `{"a`},
		{"truncated string", `"abc`},
		{"truncated after colon", `{"a":`},
		{"trailing value", `1 2`},
		{"trailing object", `{} {}`},
		{"trailing garbage", `[1]x`},
		{"trailing comma", `[1,]`},
		{"bare word", `hello`},
		{"misspelled null", `nul`},
		{"capitalised true", `True`},
		{"single quotes", `'a'`},
		{"unquoted key", `{a: 1}`},
		{"non-string key", `{1: 1}`},
		{"missing colon", `{"a" 1}`},
		{"leading zero", `01`},
		{"plus sign", `+1`},
		{"NaN", `NaN`},
		{"Infinity", `Infinity`},
		{"number out of range", `1e999`},
		{"raw control character in a string", "\"a\x01b\""},
		{"bad escape", `"\x"`},
		{"closing bracket", `]`},
		{"mismatched brackets", `[1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := host.UnmarshalValue([]byte(tt.in))
			if err == nil {
				t.Fatalf("UnmarshalValue(%q) = %#v, want an error", tt.in, v)
			}
		})
	}
}

func TestMarshalValueRefuses(t *testing.T) {
	tests := []struct {
		name string
		in   any
	}{
		{"NaN", math.NaN()},
		{"+Inf", math.Inf(1)},
		{"-Inf", math.Inf(-1)},
		{"NaN in an array", host.Array{int64(1), math.NaN()}},
		{"Inf in an object", host.Object{{Key: "x", Value: math.Inf(1)}}},
		{"Go map", map[string]any{"a": 1}},
		{"Go slice", []any{1}},
		{"float32", float32(1)},
		{"struct", struct{}{}},
		{"nested Go type", host.Object{{Key: "x", Value: host.Array{[]int{1}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := host.MarshalValue(tt.in)
			if err == nil {
				t.Fatalf("MarshalValue(%#v) = %s, want an error", tt.in, out)
			}
			if !errors.Is(err, host.ErrBadValue) {
				t.Fatalf("error %v is not ErrBadValue", err)
			}
		})
	}
}

func TestObjectAccessors(t *testing.T) {
	o := host.Object{{Key: "s", Value: "str"}, {Key: "n", Value: int64(1)}, {Key: "z", Value: nil}}
	if v, ok := o.Get("n"); !ok || v != int64(1) {
		t.Fatalf("Get(n) = %v, %v", v, ok)
	}
	if v, ok := o.Get("z"); !ok || v != nil {
		t.Fatalf("Get(z) = %v, %v: a null value is present", v, ok)
	}
	if _, ok := o.Get("missing"); ok {
		t.Fatal("Get(missing) reports the key as present")
	}
	if o.String("s") != "str" || o.String("n") != "" || o.String("missing") != "" {
		t.Fatalf("String: %q %q %q", o.String("s"), o.String("n"), o.String("missing"))
	}
}

func TestMessageJSONRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		msg  host.Message
		json string
	}{
		{
			name: "plain send to a name",
			msg:  host.Message{ID: host.MID{Prefix: "first.main", Seq: 3}, Command: "tick", Recipient: host.Address{Entity: "hello_world"}},
			json: `{"mid":"first.main.3","command":"tick","body":null,"recipient":"hello_world"}`,
		},
		{
			name: "ask to an admin with a reply address",
			msg: host.Message{
				ID:        host.MID{Prefix: "first.main", Seq: 18},
				Command:   "create_actor",
				Body:      host.Object{{Key: "name", Value: "x"}, {Key: "n", Value: 2.0}},
				Sender:    host.Address{Node: "first.main.admin", Reply: 17},
				Recipient: host.Address{Node: "first.main.admin"},
				Timeout:   2.5,
			},
			json: `{"mid":"first.main.18","command":"create_actor","body":{"name":"x","n":2.0},"sender":{"node":"first.main.admin","entity":"_17"},"recipient":"first.main.admin","timeout":2.5}`,
		},
		{
			name: "bare reply address and node+entity recipient",
			msg: host.Message{
				ID:        host.MID{Prefix: "second.process_1", Seq: 1},
				Command:   "pong",
				Body:      host.Array{},
				Sender:    host.Address{Reply: 17},
				Recipient: host.Address{Node: "first.process_0.admin", Entity: "dancer_00"},
				Timeout:   10,
			},
			json: `{"mid":"second.process_1.1","command":"pong","body":[],"sender":"_17","recipient":{"node":"first.process_0.admin","entity":"dancer_00"},"timeout":10}`,
		},
		{
			name: "reply to a waiting ask of a node",
			msg: host.Message{
				Command:   "actor_is_created",
				Body:      host.Object{},
				Recipient: host.Address{Node: "first.main.admin", Reply: 5},
			},
			json: `{"command":"actor_is_created","body":{},"recipient":{"node":"first.main.admin","entity":"_5"}}`,
		},
		{
			name: "foreign mid without a counter",
			msg:  host.Message{ID: host.MID{Prefix: "browser-abc"}, Command: "x", Body: "s", Recipient: host.Address{Entity: "a"}},
			json: `{"mid":"browser-abc","command":"x","body":"s","recipient":"a"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := tt.msg.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if string(data) != tt.json {
				t.Fatalf("MarshalJSON:\n got %s\nwant %s", data, tt.json)
			}
			var back host.Message
			if err := back.UnmarshalJSON(data); err != nil {
				t.Fatalf("UnmarshalJSON: %v", err)
			}
			if !reflect.DeepEqual(back, tt.msg) {
				t.Fatalf("round trip:\n got %#v\nwant %#v", back, tt.msg)
			}
			// Through encoding/json as well.
			std, err := json.Marshal(tt.msg)
			if err != nil {
				t.Fatalf("json.Marshal: %v", err)
			}
			var back2 host.Message
			if err := json.Unmarshal(std, &back2); err != nil {
				t.Fatalf("json.Unmarshal: %v", err)
			}
			if !reflect.DeepEqual(back2, tt.msg) {
				t.Fatalf("encoding/json round trip:\n got %#v\nwant %#v", back2, tt.msg)
			}
		})
	}
}

func TestMessageUnmarshalForms(t *testing.T) {
	tests := []struct {
		name      string
		json      string
		recipient host.Address
		sender    host.Address
		body      any
		timeout   float64
	}{
		{"name", `{"command":"c","recipient":"hello_world"}`, host.Address{Entity: "hello_world"}, host.Address{}, nil, 0},
		{"admin name", `{"command":"c","recipient":"first.main.admin"}`, host.Address{Node: "first.main.admin"}, host.Address{}, nil, 0},
		{"node and entity", `{"command":"c","recipient":{"node":"first.process_0.admin","entity":"x"}}`,
			host.Address{Node: "first.process_0.admin", Entity: "x"}, host.Address{}, nil, 0},
		{"node only", `{"command":"c","recipient":{"node":"first.main.admin"}}`, host.Address{Node: "first.main.admin"}, host.Address{}, nil, 0},
		{"entity only", `{"command":"c","recipient":{"entity":"x"}}`, host.Address{Entity: "x"}, host.Address{}, nil, 0},
		{"null node", `{"command":"c","recipient":{"node":null,"entity":"x"}}`, host.Address{Entity: "x"}, host.Address{}, nil, 0},
		{"reply name", `{"command":"c","recipient":"_17","sender":"_3"}`, host.Address{Reply: 17}, host.Address{Reply: 3}, nil, 0},
		{"underscore zero is a name", `{"command":"c","recipient":"_0"}`, host.Address{Entity: "_0"}, host.Address{}, nil, 0},
		{"null sender", `{"command":"c","recipient":"a","sender":null}`, host.Address{Entity: "a"}, host.Address{}, nil, 0},
		{"integer timeout", `{"command":"c","recipient":"a","timeout":3}`, host.Address{Entity: "a"}, host.Address{}, nil, 3},
		{"body", `{"command":"c","body":{"k":[1,2.5]},"recipient":"a"}`, host.Address{Entity: "a"},
			host.Address{}, host.Object{{Key: "k", Value: host.Array{int64(1), 2.5}}}, 0},
		{"unknown fields are ignored", `{"command":"c","extra":1,"recipient":"a"}`, host.Address{Entity: "a"}, host.Address{}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m host.Message
			if err := json.Unmarshal([]byte(tt.json), &m); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if m.Command != "c" {
				t.Errorf("command = %q", m.Command)
			}
			if m.Recipient != tt.recipient {
				t.Errorf("recipient = %#v, want %#v", m.Recipient, tt.recipient)
			}
			if m.Sender != tt.sender {
				t.Errorf("sender = %#v, want %#v", m.Sender, tt.sender)
			}
			if !reflect.DeepEqual(m.Body, tt.body) {
				t.Errorf("body = %#v, want %#v", m.Body, tt.body)
			}
			if m.Timeout != tt.timeout {
				t.Errorf("timeout = %v, want %v", m.Timeout, tt.timeout)
			}
		})
	}
}

func TestMessageUnmarshalErrors(t *testing.T) {
	tests := []struct{ name, json string }{
		{"not an object", `[1]`},
		{"a string", `"msg"`},
		{"malformed", `{"command":`},
		{"trailing data", `{"command":"c"} {}`},
		{"numeric recipient", `{"command":"c","recipient":5}`},
		{"boolean sender", `{"command":"c","sender":true}`},
		{"array recipient", `{"command":"c","recipient":["a"]}`},
		{"empty recipient object", `{"command":"c","recipient":{}}`},
		{"node not an admin", `{"command":"c","recipient":{"node":"first.main","entity":"x"}}`},
		{"numeric entity", `{"command":"c","recipient":{"entity":1}}`},
		{"empty recipient name", `{"command":"c","recipient":""}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m host.Message
			if err := m.UnmarshalJSON([]byte(tt.json)); err == nil {
				t.Fatalf("UnmarshalJSON(%s) = %#v, want an error", tt.json, m)
			}
		})
	}
}

func TestMessageMarshalBadBody(t *testing.T) {
	m := host.Message{Command: "c", Body: host.Array{math.NaN()}, Recipient: host.Address{Entity: "a"}}
	if data, err := m.MarshalJSON(); err == nil {
		t.Fatalf("MarshalJSON = %s, want an error", data)
	} else if !errors.Is(err, host.ErrBadValue) {
		t.Fatalf("error %v is not ErrBadValue", err)
	}
	if _, err := json.Marshal(m); err == nil {
		t.Fatal("json.Marshal accepted a NaN body")
	}
}

func TestMID(t *testing.T) {
	tests := []struct {
		in   string
		want host.MID
	}{
		{"first.main.17", host.MID{Prefix: "first.main", Seq: 17}},
		{"a.b.c.1", host.MID{Prefix: "a.b.c", Seq: 1}},
		{"first.main.0", host.MID{Prefix: "first.main.0"}},
		{"first.main.x", host.MID{Prefix: "first.main.x"}},
		{"17", host.MID{Prefix: "17"}},
		{".5", host.MID{Prefix: ".5"}},
		{"", host.MID{}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := host.ParseMID(tt.in)
			if got != tt.want {
				t.Fatalf("ParseMID(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
			if got.String() != tt.in {
				t.Fatalf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

func TestParseAddress(t *testing.T) {
	tests := []struct {
		in   string
		want host.Address
	}{
		{"hello_world", host.Address{Entity: "hello_world"}},
		{"first.main.admin", host.Address{Node: "first.main.admin"}},
		{"first.process_0.admin", host.Address{Node: "first.process_0.admin"}},
		{"_17", host.Address{Reply: 17}},
		{"_x", host.Address{Entity: "_x"}},
		{"a.b", host.Address{Entity: "a.b"}},
		{".main.admin", host.Address{Entity: ".main.admin"}},
		{"a.b.c.admin", host.Address{Entity: "a.b.c.admin"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := host.ParseAddress(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("ParseAddress(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
			// The value form reads back to the same address.
			back, err := host.AddressFromValue(got.Value())
			if err != nil || back != got {
				t.Fatalf("AddressFromValue(%#v) = %#v, %v", got.Value(), back, err)
			}
		})
	}
	if _, err := host.ParseAddress(""); !errors.Is(err, host.ErrBadAddress) {
		t.Fatalf("ParseAddress(\"\"): %v, want ErrBadAddress", err)
	}
}

func TestAddressFromValueErrors(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string // part of the message
	}{
		{"null", nil, "no recipient"},
		{"number", int64(5), "a number"},
		{"float", 2.5, "a number"},
		{"boolean", true, "a boolean"},
		{"array", host.Array{"a"}, "an array"},
		{"empty string", "", "empty"},
		{"empty object", host.Object{}, "node"},
		{"numeric node", host.Object{{Key: "node", Value: int64(1)}, {Key: "entity", Value: "x"}}, "node"},
		{"numeric entity", host.Object{{Key: "entity", Value: int64(1)}}, "entity"},
		{"node not an admin", host.Object{{Key: "node", Value: "first.main"}, {Key: "entity", Value: "x"}}, "first.main"},
		{"both empty", host.Object{{Key: "node", Value: ""}, {Key: "entity", Value: ""}}, "node"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := host.AddressFromValue(tt.in)
			if err == nil {
				t.Fatalf("AddressFromValue(%#v) = %#v, want an error", tt.in, a)
			}
			if !errors.Is(err, host.ErrBadAddress) {
				t.Fatalf("error %v is not ErrBadAddress", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestAddressString(t *testing.T) {
	tests := []struct {
		a    host.Address
		want string
	}{
		{host.Address{Entity: "x"}, "x"},
		{host.Address{Node: "first.main.admin"}, "first.main.admin"},
		{host.Address{Node: "first.main.admin", Entity: "x"}, "first.main.admin/x"},
		{host.Address{Reply: 4}, "_4"},
		{host.Address{}, ""},
	}
	for _, tt := range tests {
		if got := tt.a.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.a, got, tt.want)
		}
	}
	if !(host.Address{}).IsZero() || (host.Address{Reply: 1}).IsZero() {
		t.Error("IsZero")
	}
	if (host.Address{}).Value() != nil {
		t.Error("the zero address has a value")
	}
}
