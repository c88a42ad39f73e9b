package host

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// UnmarshalValue decodes one JSON value. Numbers without a fraction or
// exponent that fit in an int64 become int64; all others become float64.
// Invalid UTF-8 in strings becomes U+FFFD, as encoding/json does. It is a
// hand-written decoder: bodies cross links between processes, and the
// token API of encoding/json was most of their cost.
func UnmarshalValue(data []byte) (any, error) {
	d := decoder{data: data}
	d.skip()
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	d.skip()
	if d.pos != len(d.data) {
		return nil, errors.New("invalid JSON: data after the value")
	}
	return v, nil
}

type decoder struct {
	data   []byte
	pos    int
	strs   map[string]string // strings seen before (Decoder), or nil
	recent *[32]string       // with strs: the last string seen per slot
	fields []Field           // the members of open objects (see object)
	addrs  *[2]addressMemo   // with strs: the last sender and recipient
}

// addressMemo is an address as a Decoder last read it, with its bytes.
// JSON strings and objects end by themselves, so the same bytes at the same
// place in a later message are the same address: a stream between two
// actors reads each of its two addresses once.
type addressMemo struct {
	raw  []byte
	addr Address
}

// maxMemoAddress bounds the bytes of an address an addressMemo keeps.
const maxMemoAddress = 256

// Decoder decodes the messages that come over one link. It keeps the
// short strings that recur in them (commands, names, keys, the prefixes of
// mids), so a stream of similar messages allocates less. It is not safe
// for concurrent use: each link reader has its own.
type Decoder struct {
	strs   map[string]string
	recent [32]string
	fields []Field
	addrs  [2]addressMemo
}

// NewDecoder returns a Decoder.
func NewDecoder() *Decoder { return &Decoder{strs: make(map[string]string, 64)} }

// maxInterned bounds a Decoder's strings; a full table starts again.
const (
	maxInterned    = 2048
	maxInternedLen = 48
)

// Decode is Message.UnmarshalJSON with the Decoder's strings.
func (dec *Decoder) Decode(data []byte, m *Message) error {
	if len(dec.strs) >= maxInterned {
		clear(dec.strs)
		dec.recent = [32]string{}
	}
	d := decoder{data: data, strs: dec.strs, recent: &dec.recent, fields: dec.fields, addrs: &dec.addrs}
	ok := m.decodeEnvelopeWith(&d)
	dec.fields = d.fields[:0] // kept for the next message
	if ok {
		return nil
	}
	return m.unmarshalGeneric(data)
}

// intern returns seg as a string, the same one as before when seg is short
// and was seen already.
func (d *decoder) intern(seg []byte) string {
	if d.strs == nil || len(seg) > maxInternedLen || len(seg) == 0 {
		return string(seg)
	}
	// A slot per (length, first and last byte) remembers the last string:
	// a stream of similar messages mostly finds it there.
	slot := &d.recent[(uint(len(seg))*7+uint(seg[0])*3+uint(seg[len(seg)-1]))%uint(len(d.recent))]
	if *slot == string(seg) { // no allocation for the comparison
		return *slot
	}
	s, ok := d.strs[string(seg)] // nor for the lookup
	if !ok {
		s = string(seg)
		d.strs[s] = s
	}
	*slot = s
	return s
}

func (d *decoder) skip() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *decoder) errorf(format string, args ...any) error {
	return fmt.Errorf("invalid JSON at offset %d: %s", d.pos, fmt.Sprintf(format, args...))
}

func (d *decoder) value(depth int) (any, error) {
	if d.pos >= len(d.data) {
		return nil, errors.New("invalid JSON: unexpected end of input")
	}
	switch c := d.data[d.pos]; {
	case c == '{':
		if depth >= maxDecodeDepth {
			return nil, fmt.Errorf("invalid JSON: nested deeper than %d levels", maxDecodeDepth)
		}
		return d.object(depth + 1)
	case c == '[':
		if depth >= maxDecodeDepth {
			return nil, fmt.Errorf("invalid JSON: nested deeper than %d levels", maxDecodeDepth)
		}
		return d.array(depth + 1)
	case c == '"':
		s, err := d.string(false)
		if err != nil {
			return nil, err
		}
		return s, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	default:
		return nil, d.errorf("unexpected character %q", c)
	}
}

func (d *decoder) literal(word string) error {
	if len(d.data)-d.pos < len(word) || string(d.data[d.pos:d.pos+len(word)]) != word {
		return d.errorf("expected %s", word)
	}
	d.pos += len(word)
	return nil
}

// object reads an object. Its members wait in d.fields (a stack shared by
// the open objects), so that the Object is made at its final size.
func (d *decoder) object(depth int) (any, error) {
	d.pos++ // {
	d.skip()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return Object{}, nil
	}
	base := len(d.fields)
	defer func() {
		clear(d.fields[base:])
		d.fields = d.fields[:base]
	}()
	for {
		k, err := d.key()
		if err != nil {
			return nil, err
		}
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		d.fields = append(d.fields, Field{Key: k, Value: v})
		d.skip()
		if d.pos >= len(d.data) {
			return nil, errors.New("invalid JSON: unexpected end of input")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return append(Object(nil), d.fields[base:]...), nil
		default:
			return nil, d.errorf("expected ',' or '}' in an object")
		}
	}
}

// key reads `"key":` of an object member, and the white space around it,
// leaving d at the value.
func (d *decoder) key() (string, error) {
	d.skip()
	if !d.at('"') {
		if d.pos >= len(d.data) {
			return "", errors.New("invalid JSON: unexpected end of input")
		}
		return "", d.errorf("expected a string key")
	}
	k, err := d.string(true)
	if err != nil {
		return "", err
	}
	d.skip()
	if !d.at(':') {
		return "", d.errorf("expected ':' after an object key")
	}
	d.pos++
	d.skip()
	return k, nil
}

func (d *decoder) array(depth int) (any, error) {
	d.pos++ // [
	arr := Array{}
	d.skip()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		return arr, nil
	}
	for {
		d.skip()
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		arr = append(arr, v)
		d.skip()
		if d.pos >= len(d.data) {
			return nil, errors.New("invalid JSON: unexpected end of input")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return arr, nil
		default:
			return nil, d.errorf("expected ',' or ']' in an array")
		}
	}
}

func (d *decoder) number() (any, error) {
	start := d.pos
	isFloat := false
	if d.data[d.pos] == '-' {
		d.pos++
	}
	digits := func() int {
		n := 0
		for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
			d.pos++
			n++
		}
		return n
	}
	if d.pos < len(d.data) && d.data[d.pos] == '0' {
		d.pos++
	} else if digits() == 0 {
		return nil, d.errorf("invalid number")
	}
	if d.pos < len(d.data) && d.data[d.pos] == '.' {
		isFloat = true
		d.pos++
		if digits() == 0 {
			return nil, d.errorf("invalid number: no digits after '.'")
		}
	}
	if d.pos < len(d.data) && (d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		isFloat = true
		d.pos++
		if d.pos < len(d.data) && (d.data[d.pos] == '+' || d.data[d.pos] == '-') {
			d.pos++
		}
		if digits() == 0 {
			return nil, d.errorf("invalid number: no digits in the exponent")
		}
	}
	if !isFloat {
		if i, ok := smallInt(d.data[start:d.pos]); ok {
			return i, nil
		}
	}
	s := string(d.data[start:d.pos])
	if !isFloat {
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

// smallInt reads an integer of at most 18 digits (an optional minus sign
// first) without allocating; ok is false for anything else.
func smallInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// string decodes a string; with isKey, the keys every message carries are
// returned without allocating.
func (d *decoder) string(isKey bool) (string, error) {
	d.pos++ // "
	start := d.pos
	var seen byte // the bytes so far, or-ed: >= 0x80 when not all ASCII
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		if plainByte[c] {
			seen |= c
			d.pos++
			continue
		}
		if c != '"' {
			break // an escape or a control character
		}
		seg := d.data[start:d.pos]
		d.pos++
		if isKey {
			if k := knownKey(seg); k != "" {
				return k, nil
			}
		}
		if seen < utf8.RuneSelf || utf8.Valid(seg) {
			return d.intern(seg), nil
		}
		return string(fixUTF8(seg, nil)), nil
	}
	// Escapes: the slow path.
	buf := fixUTF8(d.data[start:d.pos], nil)
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			return string(buf), nil
		case c < 0x20:
			return "", d.errorf("a control character in a string")
		case c == '\\':
			if d.pos+1 >= len(d.data) {
				return "", errors.New("invalid JSON: unexpected end of input")
			}
			e := d.data[d.pos+1]
			d.pos += 2
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, ok := d.hex4()
				if !ok {
					return "", d.errorf("a bad \\u escape")
				}
				if utf16.IsSurrogate(r) {
					// A pair gives one rune; a lone half is U+FFFD.
					if d.pos+1 < len(d.data) && d.data[d.pos] == '\\' && d.data[d.pos+1] == 'u' {
						save := d.pos
						d.pos += 2
						if r2, ok := d.hex4(); ok {
							if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
								buf = utf8.AppendRune(buf, dec)
								continue
							}
						}
						d.pos = save
					}
					r = utf8.RuneError
				}
				buf = utf8.AppendRune(buf, r)
			default:
				return "", d.errorf("an unknown escape \\%c", e)
			}
		default:
			// Copy a run of plain bytes.
			s := d.pos
			for d.pos < len(d.data) && d.data[d.pos] != '"' && d.data[d.pos] != '\\' && d.data[d.pos] >= 0x20 {
				d.pos++
			}
			buf = fixUTF8(d.data[s:d.pos], buf)
		}
	}
	return "", errors.New("invalid JSON: unexpected end of input")
}

// plainByte: the bytes a string holds as they are (not '"', '\\' or a
// control character).
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// knownKey returns the keys of the message envelope and of addresses, and
// a few common body keys, as constants ("" for any other key).
func knownKey(b []byte) string {
	switch string(b) { // compiled without converting b
	case "mid":
		return "mid"
	case "command":
		return "command"
	case "body":
		return "body"
	case "sender":
		return "sender"
	case "recipient":
		return "recipient"
	case "timeout":
		return "timeout"
	case "transit":
		return "transit"
	case "from":
		return "from"
	case "hops":
		return "hops"
	case "node":
		return "node"
	case "entity":
		return "entity"
	case "n":
		return "n"
	case "name":
		return "name"
	case "value":
		return "value"
	case "params":
		return "params"
	}
	return ""
}

func (d *decoder) hex4() (rune, bool) {
	if len(d.data)-d.pos < 4 {
		return 0, false
	}
	var r rune
	for _, c := range d.data[d.pos : d.pos+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	d.pos += 4
	return r, true
}

// fixUTF8 appends s to buf with each invalid byte replaced by U+FFFD.
func fixUTF8(s, buf []byte) []byte {
	for len(s) > 0 {
		r, size := utf8.DecodeRune(s)
		if r == utf8.RuneError && size == 1 {
			buf = utf8.AppendRune(buf, utf8.RuneError)
		} else {
			buf = append(buf, s[:size]...)
		}
		s = s[size:]
	}
	return buf
}

// decodeEnvelope is the fast path of Message.UnmarshalJSON for the messages
// that links carry: it reads the envelope and the addresses straight into m
// instead of building Objects first. It reports false, leaving m alone, for
// anything unusual (an error, a field of an unexpected type); the generic
// decoder then gives the same result or error as it always did.
func (m *Message) decodeEnvelope(data []byte) bool {
	return m.decodeEnvelopeWith(&decoder{data: data})
}

func (m *Message) decodeEnvelopeWith(d *decoder) bool {
	d.skip()
	if !d.at('{') {
		return false
	}
	d.pos++
	var msg Message
	d.skip()
	if d.at('}') {
		d.pos++
		return d.end(m, msg)
	}
	for {
		k, err := d.key()
		if err != nil {
			return false
		}
		switch k {
		case "mid":
			if !d.at('"') {
				return false
			}
			id, ok := d.mid()
			if !ok {
				return false
			}
			msg.ID = id
		case "command":
			if !d.at('"') {
				return false
			}
			s, err := d.string(false)
			if err != nil {
				return false
			}
			msg.Command = s
		case "sender", "recipient":
			if d.at('n') { // null: no address
				if d.literal("null") != nil {
					return false
				}
				break
			}
			memo := 0
			if k == "recipient" {
				memo = 1
			}
			a, ok := d.memoAddress(memo)
			if !ok {
				return false
			}
			if k == "sender" {
				msg.Sender = a
			} else {
				msg.Recipient = a
			}
		default:
			v, err := d.value(1)
			if err != nil {
				return false
			}
			switch k {
			case "body":
				msg.Body = v
			case "timeout":
				msg.Timeout, _ = ToFloat(v)
			case "transit":
				msg.Transit = v == true
			case "from":
				msg.From, _ = v.(string)
			case "hops":
				if h, ok := v.(int64); ok && h > 0 && h < 256 {
					msg.Hops = uint8(h)
				}
			}
		}
		d.skip()
		switch {
		case d.at(','):
			d.pos++
		case d.at('}'):
			d.pos++
			return d.end(m, msg)
		default:
			return false
		}
	}
}

// mid reads a mid string: "<prefix>.<seq>" without escapes takes the
// prefix from the Decoder's strings; anything else is read as a string.
func (d *decoder) mid() (MID, bool) {
	start := d.pos + 1
	end := start
	for end < len(d.data) && d.data[end] != '"' && d.data[end] != '\\' && d.data[end] >= 0x20 && d.data[end] < 0x80 {
		end++
	}
	if end < len(d.data) && d.data[end] == '"' {
		seg := d.data[start:end]
		if i := bytes.LastIndexByte(seg, '.'); i > 0 {
			if seq, ok := smallInt(seg[i+1:]); ok && seq > 0 && seg[i+1] != '-' && (len(seg)-i-1 == 1 || seg[i+1] != '0') {
				d.pos = end + 1
				return MID{Prefix: d.intern(seg[:i]), Seq: uint64(seq)}, true
			}
		}
	}
	s, err := d.string(false)
	if err != nil {
		return MID{}, false
	}
	return ParseMID(s), true
}

// end stores msg in m if nothing but white space follows.
func (d *decoder) end(m *Message, msg Message) bool {
	d.skip()
	if d.pos != len(d.data) {
		return false
	}
	*m = msg
	return true
}

func (d *decoder) at(c byte) bool { return d.pos < len(d.data) && d.data[d.pos] == c }

// memoAddress is address, remembering what it read in the Decoder's memo
// number i (see addressMemo).
func (d *decoder) memoAddress(i int) (Address, bool) {
	if d.addrs == nil {
		return d.address()
	}
	memo := &d.addrs[i]
	if len(memo.raw) > 0 && bytes.HasPrefix(d.data[d.pos:], memo.raw) {
		d.pos += len(memo.raw)
		return memo.addr, true
	}
	start := d.pos
	a, ok := d.address()
	if ok && d.pos-start <= maxMemoAddress {
		memo.raw = append(memo.raw[:0], d.data[start:d.pos]...)
		memo.addr = a
	}
	return a, ok
}

// address reads a name ("seq", "first.main.admin", "_3") or {"node": "...",
// "entity": "..."} (either may be missing) into a valid Address; anything
// else reports false.
func (d *decoder) address() (Address, bool) {
	if d.at('"') {
		s, err := d.string(false)
		if err != nil {
			return Address{}, false
		}
		a, err := ParseAddress(s)
		return a, err == nil
	}
	if !d.at('{') {
		return Address{}, false
	}
	d.pos++
	var node, entity string
	var seen [2]bool // a repeated key goes the generic way (which takes the first)
	d.skip()
	if !d.at('}') {
		for {
			k, err := d.key()
			if err != nil || !d.at('"') {
				return Address{}, false
			}
			s, err := d.string(false)
			if err != nil {
				return Address{}, false
			}
			switch {
			case k == "node" && !seen[0]:
				node, seen[0] = s, true
			case k == "entity" && !seen[1]:
				entity, seen[1] = s, true
			default:
				return Address{}, false
			}
			d.skip()
			if d.at(',') {
				d.pos++
				continue
			}
			if d.at('}') {
				break
			}
			return Address{}, false
		}
	}
	d.pos++ // }
	if (node == "" && entity == "") || (node != "" && !IsAdminName(node)) {
		return Address{}, false
	}
	if entity == "" {
		return Address{Node: node}, true
	}
	a, err := entityAddress(node, entity)
	return a, err == nil
}
