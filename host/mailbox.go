package host

// ring is a growable FIFO of messages. It is not safe for concurrent use;
// an actor guards its ring with its own mutex.
type ring struct {
	buf  []Message
	head int
	n    int
}

func (r *ring) push(m Message) {
	if r.n == len(r.buf) {
		r.grow()
	}
	r.buf[(r.head+r.n)&(len(r.buf)-1)] = m
	r.n++
}

func (r *ring) pop() (Message, bool) {
	if r.n == 0 {
		return Message{}, false
	}
	m := r.buf[r.head]
	r.buf[r.head] = Message{} // let the body be collected
	r.head = (r.head + 1) & (len(r.buf) - 1)
	r.n--
	return m, true
}

func (r *ring) grow() {
	size := 2 * len(r.buf)
	if size == 0 {
		size = 4
	}
	buf := make([]Message, size)
	for i := 0; i < r.n; i++ {
		buf[i] = r.buf[(r.head+i)&(len(r.buf)-1)]
	}
	r.buf, r.head = buf, 0
}
