package host

import "testing"

// BenchmarkAskOpenComplete: the ask table's part of an ask, opening a
// waiter (drawing its reply address) and completing it with the reply.
func BenchmarkAskOpenComplete(b *testing.B) {
	p, err := NewProcess(Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Shutdown()
	reply := Message{Command: "r"}
	b.ReportAllocs()
	for b.Loop() {
		w := p.asks.open()
		p.asks.complete(p, w.id, reply)
		<-w.ch
		waiterPool.Put(w)
	}
}
