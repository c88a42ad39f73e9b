package cluster

import (
	"log/slog"

	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/net/link"
)

// No lock of the head is held while a message is encoded or written to a
// link. Where the order of messages matters (a move, a flush), the head
// decides the way under h.mu and takes the message's place on the link
// there (link.Conn.Reserve: cheap, it never waits on the network); it
// encodes and writes it (link.Slot.Fill) after releasing h.mu. The link
// writes its frames in the order of their places, so the order is the one
// decided under the lock, as when the whole send was made under it; but a
// 20 MiB message no longer holds h.mu while it is encoded and written, and
// nothing else waits behind it but the frames after it on the same link.

// outgoing is a message whose place on a link is taken: send encodes and
// writes it there.
type outgoing struct {
	slot *link.Slot
	m    host.Message
}

// reserve takes m's next place on c.
func reserve(c *link.Conn, m host.Message) outgoing {
	return outgoing{slot: c.Reserve(), m: m}
}

// send encodes the message into its place and sends it; call it with no
// lock held.
func (o outgoing) send() error { return fillSlot(o.slot, o.m) }

// place is a message's place on a link as host sees it (host.Place).
type place link.Slot

// Fill implements host.Place.
func (p *place) Fill(m host.Message) error { return fillSlot((*link.Slot)(p), m) }

// placeOf is s as a host.Place (nil: no place, the message was taken).
func placeOf(s *link.Slot) host.Place {
	if s == nil {
		return nil
	}
	return (*place)(s)
}

// fillSlot encodes m into its place on a link: a message of the system
// (m.System) in a control frame, any other in a message frame. Every
// message cluster writes to a link goes through it or sendOn, so that the
// reader at the other end knows the system's messages by their frame
// (linkDecoder.decode).
func fillSlot(s *link.Slot, m host.Message) error {
	if m.System {
		return s.FillControl(m.AppendJSON)
	}
	return s.Fill(m.AppendJSON)
}

// sendOn sends m on c, in the link's order (fillSlot).
func sendOn(c *link.Conn, m host.Message) error { return fillSlot(c.Reserve(), m) }

// outbox collects what a function reserves under h.mu, to be sent, in
// order, once it has released it.
type outbox []outgoing

func (b *outbox) add(c *link.Conn, m host.Message) { *b = append(*b, reserve(c, m)) }

// send sends each message in its place (no lock held), logging those that
// fail.
func (b outbox) send(log *slog.Logger) {
	for _, o := range b {
		if err := o.send(); err != nil {
			log.Warn("a message is not sent", "command", o.m.Command, "to", o.m.Recipient.String(), "error", err.Error())
		}
	}
}
