package host

import "math"

// ring is a growable FIFO of messages, with the size of each message's
// body as its pusher gave it and their sum. It is not safe for concurrent
// use; an actor guards its ring with its own mutex.
type ring struct {
	buf   []Message
	size  []int32 // beside buf: the size pushSized was given, 0 for push
	head  int
	n     int
	bytes int64 // the sum of size over the messages in the ring
}

func (r *ring) push(m Message) { r.pushSized(m, 0) }

// pushSized appends m, which holds about size bytes.
func (r *ring) pushSized(m Message, size int64) {
	if r.n == len(r.buf) {
		r.grow()
	}
	i := (r.head + r.n) & (len(r.buf) - 1)
	r.buf[i] = m
	s := int32(min(size, math.MaxInt32))
	r.size[i] = s
	r.bytes += int64(s)
	r.n++
}

func (r *ring) pop() (Message, bool) {
	if r.n == 0 {
		return Message{}, false
	}
	m := r.buf[r.head]
	r.buf[r.head] = Message{} // let the body be collected
	r.bytes -= int64(r.size[r.head])
	r.head = (r.head + 1) & (len(r.buf) - 1)
	r.n--
	return m, true
}

// popInto moves up to max messages to dst and returns it.
func (r *ring) popInto(dst []Message, max int) []Message {
	for r.n > 0 && len(dst) < max {
		dst = append(dst, r.buf[r.head])
		r.buf[r.head] = Message{}
		r.bytes -= int64(r.size[r.head])
		r.head = (r.head + 1) & (len(r.buf) - 1)
		r.n--
	}
	return dst
}

// pushFront puts ms back at the head, in their order (their sizes are
// not counted again).
func (r *ring) pushFront(ms []Message) {
	for i := len(ms) - 1; i >= 0; i-- {
		if r.n == len(r.buf) {
			r.grow()
		}
		r.head = (r.head - 1 + len(r.buf)) & (len(r.buf) - 1)
		r.buf[r.head] = ms[i]
		r.size[r.head] = 0
		r.n++
	}
}

func (r *ring) grow() {
	size := 2 * len(r.buf)
	if size == 0 {
		size = 4
	}
	buf := make([]Message, size)
	sizes := make([]int32, size)
	for i := 0; i < r.n; i++ {
		j := (r.head + i) & (len(r.buf) - 1)
		buf[i], sizes[i] = r.buf[j], r.size[j]
	}
	r.buf, r.size, r.head = buf, sizes, 0
}
