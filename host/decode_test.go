package host

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"testing"
)

// The reference: the encoding/json token decoder this package used before
// the hand-written one. The fuzz test checks that both agree.

// refDecodeValue reads the next JSON value from dec, which must have UseNumber set.
func refDecodeValue(dec *json.Decoder) (any, error) {
	return decodeValue(dec, 0)
}

func decodeValue(dec *json.Decoder, depth int) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonError(err)
	}
	return decodeToken(dec, tok, depth)
}

func decodeToken(dec *json.Decoder, tok json.Token, depth int) (any, error) {
	if d, ok := tok.(json.Delim); ok && (d == '[' || d == '{') && depth >= maxDecodeDepth {
		return nil, fmt.Errorf("invalid JSON: nested deeper than %d levels", maxDecodeDepth)
	}
	switch t := tok.(type) {
	case nil, bool, string:
		return t, nil
	case json.Number:
		return numberValue(t)
	case json.Delim:
		switch t {
		case '[':
			arr := Array{}
			for dec.More() {
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, jsonError(err)
			}
			return arr, nil
		case '{':
			obj := Object{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, jsonError(err)
				}
				key, _ := kt.(string)
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				obj = append(obj, Field{Key: key, Value: v})
			}
			if _, err := dec.Token(); err != nil {
				return nil, jsonError(err)
			}
			return obj, nil
		}
	}
	return nil, fmt.Errorf("invalid JSON: unexpected %v", tok)
}

func numberValue(n json.Number) (any, error) {
	s := string(n)
	if !bytes.ContainsAny([]byte(s), ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("invalid JSON number %q: %w", s, err)
	}
	return f, nil
}

func jsonError(err error) error {
	if err == io.EOF {
		return errors.New("invalid JSON: unexpected end of input")
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

func refUnmarshal(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := refDecodeValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the value")
	}
	return v, nil
}

// FuzzUnmarshalValue: the hand-written decoder accepts what encoding/json
// accepts and gives the same value.
func FuzzUnmarshalValue(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5,"x",null,true,{"b":-0.0}]}`, `"\u00e9\ud83d\ude00\ud800"`, `[1e3, -12, 9223372036854775808]`, "\"\xff\"", `{"":""}`, `  7  `, `{"a" 1}`, `[1,]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err1 := UnmarshalValue(data)
		want, err2 := refUnmarshal(data)
		if (err1 == nil) != (err2 == nil) {
			// encoding/json accepts nesting past maxDecodeDepth only in the reference
			if err1 != nil && bytes.Count(data, []byte("["))+bytes.Count(data, []byte("{")) > maxDecodeDepth {
				return
			}
			t.Fatalf("%q: decoder error %v, reference error %v", data, err1, err2)
		}
		if err1 != nil {
			return
		}
		a, _ := MarshalValue(got)
		b, _ := MarshalValue(want)
		if !bytes.Equal(a, b) {
			t.Fatalf("%q: decoder %s, reference %s", data, a, b)
		}
	})
}

// FuzzMessageEnvelope: the fast envelope decoder, when it takes a message,
// gives exactly what the generic path gives.
func FuzzMessageEnvelope(f *testing.F) {
	for _, s := range []string{
		`{"mid":"first.main.7","command":"next","body":{"n":1},"sender":{"node":"first.main.admin","entity":"pump"},"recipient":{"node":"first.process_0.admin","entity":"seq"}}`,
		`{"command":"x","recipient":{"node":"first.main.admin","entity":"_12"},"sender":null,"hops":3,"transit":true,"timeout":2.5}`,
		`{"command":"move_out","body":{"entity":"x"},"recipient":"first.process_0.admin","sys":true}`, `{"command":"x","sys":1,"sys":true}`,
		`{"recipient":{"node":"first.main.admin"},"hops":3,"hops":"x","command":"a","command":"b"}`,
		`{"recipient":"name","mid":5}`, `{"mid":"a.007"}`, `{"mid":"a.-1"}`, `{"mid":"x.y.123456789012345678901"}`, `{"mid":"\u0041.1"}`, `{"body":{"n":-12,"m":123456789012345678901,"s":"seq"}}`, `{"sender":{"entity":"","entity":"0"}}`, `{"recipient":{"node":"bad","entity":"x"}}`, `{"recipient":{"entity":""}}`, `{}`, ` {"body":[1,2]} `, `[1]`,
	} {
		f.Add([]byte(s))
	}
	dec := NewDecoder() // shared across inputs, as on a link
	f.Fuzz(func(t *testing.T, data []byte) {
		var fast, generic, interned Message
		dataCopy := append([]byte(nil), data...)
		okInterned := interned.decodeEnvelopeWith(&decoder{data: dataCopy, strs: dec.strs, recent: &dec.recent, addrs: &dec.addrs})
		clear(dataCopy) // a Decoder's strings must not share the payload's memory
		if !fast.decodeEnvelope(data) {
			if okInterned {
				t.Fatalf("%q: the Decoder took a message the fast path refuses", data)
			}
			return
		}
		if !okInterned {
			t.Fatalf("%q: the Decoder refused a message the fast path takes", data)
		}
		ai, _ := interned.MarshalJSON()
		af, _ := fast.MarshalJSON()
		if !bytes.Equal(ai, af) || interned.ID != fast.ID || interned.Sender != fast.Sender || interned.Recipient != fast.Recipient {
			t.Fatalf("%q: Decoder %s %+v, fast %s %+v", data, ai, interned, af, fast)
		}
		if err := generic.unmarshalGeneric(data); err != nil {
			t.Fatalf("%q: the fast path took a message the generic path refuses: %v", data, err)
		}
		a, _ := fast.MarshalJSON()
		b, _ := generic.MarshalJSON()
		if !bytes.Equal(a, b) || fast.ID != generic.ID || fast.Sender != generic.Sender || fast.Recipient != generic.Recipient || fast.Hops != generic.Hops || fast.Transit != generic.Transit || fast.System != generic.System || fast.Timeout != generic.Timeout {
			t.Fatalf("%q: fast %s %+v, generic %s %+v", data, a, fast, b, generic)
		}
	})
}

// TestDecoderAddressMemo: a Decoder that remembers the last sender and
// recipient reads every address of a stream as the generic path does,
// when the next address is the same, a longer one, a shorter one, the
// other form, or null.
func TestDecoderAddressMemo(t *testing.T) {
	addrs := []string{
		`{"node":"first.main.admin","entity":"pump"}`,
		`{"node":"first.main.admin","entity":"pump"}`,
		`{"node":"first.main.admin","entity":"pump2"}`,
		`{"node":"first.main.admin","entity":"pum"}`,
		`{"node":"first.main.admin","entity":"_3"}`,
		`{"node":"first.main.admin","entity":"_34"}`,
		`{"node":"first.main.admin"}`,
		`{"node":"first.main.admin","entity":"pump"}`,
		`{ "node":"first.main.admin","entity":"pump"}`,
		`{"entity":"pump","node":"first.main.admin"}`,
		`"pump"`, `"pump"`, `"pump2"`, `"pum"`, `null`, `"pump"`, `"first.main.admin"`,
		`{"node":"first.main.admin","entity":"pump"}`,
	}
	dec := NewDecoder()
	for i, s := range addrs {
		r := addrs[len(addrs)-1-i]
		for _, data := range []string{
			`{"command":"c","sender":` + s + `,"recipient":` + r + `}`,
			`{"command":"c","sender":` + s + `,"recipient":` + r + `,"hops":2}`,
		} {
			var got, want Message
			if !got.decodeEnvelopeWith(&decoder{data: []byte(data), strs: dec.strs, recent: &dec.recent, addrs: &dec.addrs}) {
				t.Fatalf("%s: not decoded by the fast path", data)
			}
			if err := want.unmarshalGeneric([]byte(data)); err != nil {
				t.Fatalf("%s: generic: %v", data, err)
			}
			if got.Sender != want.Sender || got.Recipient != want.Recipient || got.Hops != want.Hops {
				t.Errorf("%s: Decoder %+v %+v, generic %+v %+v", data, got.Sender, got.Recipient, want.Sender, want.Recipient)
			}
		}
	}
	// A remembered address followed by something else is no address.
	var m Message
	data := `{"command":"c","sender":{"node":"first.main.admin","entity":"pump"}x}`
	if err := dec.Decode([]byte(data), &m); err == nil {
		t.Errorf("%s: decoded as %+v", data, m)
	}
}

// TestEnvelopeFastPath: the messages links carry take the fast path.
func TestEnvelopeFastPath(t *testing.T) {
	for _, data := range []string{
		`{"mid":"first.main.7","command":"next","body":{"n":1},"sender":{"node":"first.main.admin","entity":"pump"},"recipient":{"node":"first.process_0.admin","entity":"_3"},"timeout":10}`,
		`{"mid":"first.main.7","command":"next","body":{"n":1},"sender":"pump","recipient":"seq"}`,
	} {
		var m Message
		if !m.decodeEnvelope([]byte(data)) {
			t.Fatalf("%s: not decoded by the fast path", data)
		}
		if m.Command != "next" || m.Sender.Entity != "pump" {
			t.Fatalf("%s: decoded as %+v", data, m)
		}
	}
	// Every address form a message is written with goes the fast way.
	for _, a := range []Address{{Entity: "x"}, {Node: "first.main.admin"}, {Node: "first.main.admin", Entity: "seq"}, {Node: "first.main.admin", Reply: 4}, {Reply: 5}} {
		data, _ := Message{Command: "c", Sender: a, Recipient: a}.MarshalJSON()
		var m Message
		if !m.decodeEnvelope(data) || m.Sender != a || m.Recipient != a {
			t.Errorf("%s: fast path %+v", data, m)
		}
	}
}

// TestAppendAddress: an address is written exactly as its Value would be,
// and reads back as the same address.
func TestAppendAddress(t *testing.T) {
	for _, a := range []Address{
		{Entity: "x"}, {Node: "first.main.admin"}, {Node: "first.main.admin", Entity: "seq"},
		{Node: "first.process_1.admin", Reply: 17}, {Reply: 3}, {Entity: "q\"uo\\te\n\u00e9"},
	} {
		want, err := appendValue(nil, a.Value())
		if err != nil {
			t.Fatal(err)
		}
		if got := appendAddress(nil, a); !bytes.Equal(got, want) {
			t.Errorf("%+v: %s, want %s", a, got, want)
		}
		m := Message{Command: "c", Recipient: a, Sender: a}
		data, _ := m.MarshalJSON()
		var back Message
		if err := back.UnmarshalJSON(data); err != nil || back.Recipient != a || back.Sender != a {
			t.Errorf("%+v: read back as %+v, %v", a, back.Recipient, err)
		}
	}
}
