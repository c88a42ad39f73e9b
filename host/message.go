package host

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// MID identifies a message system-wide. It prints as "<host>.<process>.<seq>";
// the string is built only when somebody asks for it, so sending costs no
// formatting.
type MID struct {
	Prefix string // "<host>.<process>", or a whole foreign mid when Seq is 0
	Seq    uint64
}

// String returns the printed form of the mid.
func (m MID) String() string {
	if m.Seq == 0 {
		return m.Prefix
	}
	return m.Prefix + "." + strconv.FormatUint(m.Seq, 10)
}

// ParseMID splits a printed mid into its prefix and counter.
func ParseMID(s string) MID {
	if i := strings.LastIndexByte(s, '.'); i > 0 {
		if seq, err := strconv.ParseUint(s[i+1:], 10, 64); err == nil && seq > 0 {
			return MID{Prefix: s[:i], Seq: seq}
		}
	}
	return MID{Prefix: s}
}

// Address names a recipient or a reply destination. The forms are:
//
//	{Entity: "hello_world"}                  an actor, wherever it lives
//	{Node: "first.main.admin"}               the admin of a process
//	{Node: "first.main.admin", Entity: "x"}  actor x, expected in that process
//	{Node: "first.main.admin", Reply: 17}    the waiting ask "_17" of that process
type Address struct {
	Node   string
	Entity string
	Reply  uint64
}

// IsZero reports whether the address names nothing.
func (a Address) IsZero() bool { return a.Node == "" && a.Entity == "" && a.Reply == 0 }

// EntityName returns the entity as written on the wire ("_17" for a reply).
func (a Address) EntityName() string {
	if a.Reply != 0 {
		return "_" + strconv.FormatUint(a.Reply, 10)
	}
	return a.Entity
}

// String returns the shortest readable form: the entity, the node, or both.
func (a Address) String() string {
	e := a.EntityName()
	switch {
	case e == "":
		return a.Node
	case a.Node == "":
		return e
	default:
		return a.Node + "/" + e
	}
}

// ErrBadAddress reports a recipient that cannot be understood.
var ErrBadAddress = errors.New("bad address")

// IsAdminName reports whether s has the form "<host>.<process>.admin".
func IsAdminName(s string) bool {
	rest, ok := strings.CutSuffix(s, ".admin")
	if !ok {
		return false
	}
	i := strings.IndexByte(rest, '.')
	return i > 0 && i < len(rest)-1 && strings.IndexByte(rest[i+1:], '.') < 0
}

// ParseAddress reads an address from its string form: an admin name gives a
// node address, "_N" a reply address, anything else an actor name.
func ParseAddress(s string) (Address, error) {
	switch {
	case s == "":
		return Address{}, fmt.Errorf("%w: empty name", ErrBadAddress)
	case IsAdminName(s):
		return Address{Node: s}, nil
	default:
		return entityAddress("", s)
	}
}

func entityAddress(node, e string) (Address, error) {
	if len(e) > 1 && e[0] == '_' {
		if n, err := strconv.ParseUint(e[1:], 10, 64); err == nil && n > 0 {
			return Address{Node: node, Reply: n}, nil
		}
	}
	return Address{Node: node, Entity: e}, nil
}

// AddressFromValue reads an address from a body value: a string or an object
// {"node", "entity"}.
func AddressFromValue(v any) (Address, error) {
	switch x := v.(type) {
	case string:
		return ParseAddress(x)
	case Object:
		node, ok1 := stringField(x, "node")
		entity, ok2 := stringField(x, "entity")
		if !ok1 || !ok2 || (node == "" && entity == "") {
			return Address{}, fmt.Errorf(`%w: want "name" or {"node": "<host>.<process>.admin", "entity": "name"}`, ErrBadAddress)
		}
		if node != "" && !IsAdminName(node) {
			return Address{}, fmt.Errorf("%w: node %q is not of the form <host>.<process>.admin", ErrBadAddress, node)
		}
		if entity == "" {
			return Address{Node: node}, nil
		}
		return entityAddress(node, entity)
	case nil:
		return Address{}, fmt.Errorf("%w: no recipient", ErrBadAddress)
	default:
		return Address{}, fmt.Errorf("%w: recipient must be a string or an object, not %s", ErrBadAddress, TypeName(v))
	}
}

func stringField(o Object, key string) (string, bool) {
	v, ok := o.Get(key)
	if !ok || v == nil {
		return "", true
	}
	s, ok := v.(string)
	return s, ok
}

// Value returns the address as a body value: a string, or an object when
// both node and entity are set.
func (a Address) Value() any {
	if a.IsZero() {
		return nil
	}
	e := a.EntityName()
	switch {
	case e == "":
		return a.Node
	case a.Node == "":
		return e
	}
	return Object{{Key: "node", Value: a.Node}, {Key: "entity", Value: e}}
}

// appendAddress appends a non-zero address as Value's JSON, without
// building the value.
func appendAddress(buf []byte, a Address) []byte {
	entity := func(buf []byte) []byte {
		if a.Reply != 0 {
			buf = append(buf, '"', '_')
			return append(strconv.AppendUint(buf, a.Reply, 10), '"')
		}
		return appendString(buf, a.Entity)
	}
	switch {
	case a.Reply == 0 && a.Entity == "":
		return appendString(buf, a.Node)
	case a.Node == "":
		return entity(buf)
	}
	buf = append(buf, `{"node":`...)
	buf = appendString(buf, a.Node)
	buf = append(buf, `,"entity":`...)
	return append(entity(buf), '}')
}

// Message is the unit of communication between actors. It is passed by value;
// its Body is shared and must not be modified.
type Message struct {
	ID        MID
	Command   string
	Body      any
	Sender    Address // where a reply goes; zero for a plain send
	Recipient Address
	Timeout   float64 // seconds the asker waits; 0 when unknown
	Hops      uint8   // times forwarded between processes (a loop guard)
	Transit   bool    // sent on by the old place of an actor that is moving
	// From is the package of the actor that sent the message, set on what
	// an actor sends to an admin (and on exit and quit): the admin checks
	// what the package may ask of it (Config.Grants). It is empty on what
	// the console, the REPL and Go code send (operators), and travels on
	// links as "from".
	From string
	// System marks a message of the system itself: sent by the Go code of
	// a process (cluster, the admin's own steps), or received over an
	// authenticated link in a control frame (wire.KindControl), which only
	// another process's system code writes. It is not part of the JSON: the
	// frame's kind carries it, and a "sys" key in a message is ignored. The
	// internal verbs (IsInternal) are accepted only with it. Nothing an
	// actor, the console or the REPL sends has it: Lua and the console
	// build messages without it.
	System bool
}

// MarshalJSON encodes the message in the shape of DESIGN.md.
func (m Message) MarshalJSON() ([]byte, error) {
	return m.AppendJSON(nil)
}

// AppendJSON appends the JSON form of the message to buf.
func (m Message) AppendJSON(buf []byte) ([]byte, error) {
	buf = append(buf, '{')
	if m.ID != (MID{}) {
		buf = append(buf, `"mid":`...)
		buf = appendString(buf, m.ID.Prefix)
		if m.ID.Seq != 0 { // "prefix.seq" without building the string
			buf = append(buf[:len(buf)-1], '.')
			buf = strconv.AppendUint(buf, m.ID.Seq, 10)
			buf = append(buf, '"')
		}
		buf = append(buf, ',')
	}
	buf = append(buf, `"command":`...)
	buf = appendString(buf, m.Command)
	buf = append(buf, `,"body":`...)
	var err error
	if buf, err = appendValue(buf, m.Body); err != nil {
		return nil, fmt.Errorf("message %s body: %w", m.Command, err)
	}
	if !m.Sender.IsZero() {
		buf = append(buf, `,"sender":`...)
		buf = appendAddress(buf, m.Sender)
	}
	if !m.Recipient.IsZero() {
		buf = append(buf, `,"recipient":`...)
		buf = appendAddress(buf, m.Recipient)
	}
	if m.Timeout > 0 && !math.IsInf(m.Timeout, 0) {
		buf = append(buf, `,"timeout":`...)
		buf = strconv.AppendFloat(buf, m.Timeout, 'g', -1, 64)
	}
	if m.Hops > 0 {
		buf = append(buf, `,"hops":`...)
		buf = strconv.AppendUint(buf, uint64(m.Hops), 10)
	}
	if m.Transit {
		buf = append(buf, `,"transit":true`...)
	}
	if m.From != "" {
		buf = append(buf, `,"from":`...)
		buf = appendString(buf, m.From)
	}
	return append(buf, '}'), nil
}

// UnmarshalJSON decodes a message written by MarshalJSON.
func (m *Message) UnmarshalJSON(data []byte) error {
	if m.decodeEnvelope(data) {
		return nil
	}
	return m.unmarshalGeneric(data)
}

// unmarshalGeneric decodes a message through UnmarshalValue: the reference
// that decodeEnvelope must agree with, and the source of its errors.
func (m *Message) unmarshalGeneric(data []byte) error {
	v, err := UnmarshalValue(data)
	if err != nil {
		return err
	}
	o, ok := v.(Object)
	if !ok {
		return errors.New("message must be a JSON object")
	}
	*m = Message{}
	for _, f := range o {
		switch f.Key {
		case "mid":
			s, _ := f.Value.(string)
			m.ID = ParseMID(s)
		case "command":
			m.Command, _ = f.Value.(string)
		case "body":
			m.Body = f.Value
		case "sender", "recipient":
			if f.Value == nil {
				continue
			}
			a, err := AddressFromValue(f.Value)
			if err != nil {
				return fmt.Errorf("message %s: %w", f.Key, err)
			}
			if f.Key == "sender" {
				m.Sender = a
			} else {
				m.Recipient = a
			}
		case "timeout":
			m.Timeout, _ = ToFloat(f.Value)
		case "transit":
			m.Transit = f.Value == true
		case "from":
			m.From, _ = f.Value.(string)
		case "hops":
			if h, ok := f.Value.(int64); ok && h > 0 && h < 256 {
				m.Hops = uint8(h)
			}
		}
	}
	return nil
}

var _ json.Marshaler = Message{}

// ToFloat returns a number value as float64.
func ToFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case int:
		return float64(x), true
	}
	return 0, false
}

// TypeName names the JSON type of a value for error messages; an empty
// string is "an empty string", so "must be a non-empty string" says why.
func TypeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case int64, int, float64:
		return "a number"
	case string:
		if x == "" {
			return "an empty string"
		}
		return "a string"
	case Array:
		return "an array"
	case RawJSON:
		if len(x) > 0 && x[0] == '[' {
			return "an array"
		}
		return "an object"
	case Object:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// MessageValue returns m as a body value (to carry queued messages).
func MessageValue(m Message) (any, error) {
	data, err := m.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return UnmarshalValue(data)
}

// MessageFromValue reads a message written by MessageValue.
func MessageFromValue(v any) (Message, error) {
	data, err := MarshalValue(v)
	if err != nil {
		return Message{}, err
	}
	var m Message
	err = m.UnmarshalJSON(data)
	m.System = false // a queued message of an actor: never the system's
	return m, err
}
