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

// popInto moves up to max messages to dst and returns it.
func (r *ring) popInto(dst []Message, max int) []Message {
	for r.n > 0 && len(dst) < max {
		dst = append(dst, r.buf[r.head])
		r.buf[r.head] = Message{}
		r.head = (r.head + 1) & (len(r.buf) - 1)
		r.n--
	}
	return dst
}

// pushFront puts ms back at the head, in their order.
func (r *ring) pushFront(ms []Message) {
	for i := len(ms) - 1; i >= 0; i-- {
		if r.n == len(r.buf) {
			r.grow()
		}
		r.head = (r.head - 1 + len(r.buf)) & (len(r.buf) - 1)
		r.buf[r.head] = ms[i]
		r.n++
	}
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
