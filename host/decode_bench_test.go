package host

import "testing"

// BenchmarkMessageDecode decodes a message as it arrives on a link: the
// envelope with both addresses and a small table body.
func BenchmarkMessageDecode(b *testing.B) {
	data := []byte(`{"mid":"first.main.12345","command":"next","body":{"n":42,"s":"payload"},` +
		`"sender":{"node":"first.main.admin","entity":"pump"},"recipient":{"node":"first.process_0.admin","entity":"seq"}}`)
	b.ReportAllocs()
	for b.Loop() {
		var m Message
		if err := m.UnmarshalJSON(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMessageEncode encodes the same message into a reused buffer.
// BenchmarkMessageDecodeLink is BenchmarkMessageDecode with the Decoder of
// a link, which keeps recurring strings.
func BenchmarkMessageDecodeLink(b *testing.B) {
	data := []byte(`{"mid":"first.main.12345","command":"next","body":{"n":42,"s":"payload"},` +
		`"sender":{"node":"first.main.admin","entity":"pump"},"recipient":{"node":"first.process_0.admin","entity":"seq"}}`)
	dec := NewDecoder()
	b.ReportAllocs()
	for b.Loop() {
		var m Message
		if err := dec.Decode(data, &m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMessageEncode(b *testing.B) {
	m := Message{ID: MID{Prefix: "first.main", Seq: 12345}, Command: "next", Body: Object{{Key: "n", Value: int64(42)}, {Key: "s", Value: "payload"}},
		Sender: Address{Node: "first.main.admin", Entity: "pump"}, Recipient: Address{Node: "first.process_0.admin", Entity: "seq"}}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = m.AppendJSON(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}
