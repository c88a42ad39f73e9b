package host

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// A body is an immutable JSON-shaped value tree made only of these Go types:
//
//	nil      JSON null
//	bool     true, false
//	int64    a number written without fraction or exponent
//	float64  any other number
//	string   a string
//	Array    an array
//	Object   an object, keys in their original order
//	RawJSON  an object or array already written as JSON
//
// Bodies are shared between actors without copying, so nobody may modify a
// body after it has been sent.

// Array is a JSON array.
type Array []any

// Object is a JSON object that keeps the order of its keys. It is a slice,
// not a map, because bodies are small and are built and read once.
type Object []Field

// RawJSON is a body already in its JSON form: one valid JSON object or
// array. A Lua actor writes a table it sends to an actor of another
// process so, without making an Object first, since the body is bound for
// a link. Should the message be delivered in this process after all (the
// recipient moved here meanwhile), Actor.handle decodes it first: a
// behaviour never sees RawJSON.
type RawJSON []byte

// Field is one key of an Object.
type Field struct {
	Key   string
	Value any
}

// Get returns the value of key and whether the key is present.
func (o Object) Get(key string) (any, bool) {
	for i := range o {
		if o[i].Key == key {
			return o[i].Value, true
		}
	}
	return nil, false
}

// String returns the string value of key, or "" when it is absent or not a string.
func (o Object) String(key string) string {
	v, _ := o.Get(key)
	s, _ := v.(string)
	return s
}

// ErrBadValue reports a Go value that has no JSON form.
var ErrBadValue = errors.New("value is not JSON-shaped")

// MarshalValue encodes v as compact JSON. Floats with an integral value keep
// a fraction (2.0), so integers and floats survive a round trip.
func MarshalValue(v any) ([]byte, error) {
	return appendValue(nil, v)
}

// AppendValue appends the JSON encoding of v to buf.
func AppendValue(buf []byte, v any) ([]byte, error) {
	return appendValue(buf, v)
}

func appendValue(buf []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(buf, "null"...), nil
	case bool:
		return strconv.AppendBool(buf, x), nil
	case int64:
		return strconv.AppendInt(buf, x, 10), nil
	case int:
		return strconv.AppendInt(buf, int64(x), 10), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return buf, fmt.Errorf("%w: %v", ErrBadValue, x)
		}
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.AppendFloat(buf, x, 'f', 1, 64), nil
		}
		return strconv.AppendFloat(buf, x, 'g', -1, 64), nil
	case string:
		return appendString(buf, x), nil
	case RawJSON:
		return append(buf, x...), nil
	case Array:
		buf = append(buf, '[')
		for i, e := range x {
			if i > 0 {
				buf = append(buf, ',')
			}
			var err error
			if buf, err = appendValue(buf, e); err != nil {
				return buf, err
			}
		}
		return append(buf, ']'), nil
	case Object:
		buf = append(buf, '{')
		for i, f := range x {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendString(buf, f.Key)
			buf = append(buf, ':')
			var err error
			if buf, err = appendValue(buf, f.Value); err != nil {
				return buf, err
			}
		}
		return append(buf, '}'), nil
	default:
		return buf, fmt.Errorf("%w: Go type %T", ErrBadValue, v)
	}
}

// AppendString appends s as a JSON string (invalid UTF-8 becomes U+FFFD).
func AppendString(buf []byte, s string) []byte { return appendString(buf, s) }

const hexDigits = "0123456789abcdef"

func appendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				buf = append(buf, '\\', c)
			case c == '\n':
				buf = append(buf, '\\', 'n')
			case c == '\r':
				buf = append(buf, '\\', 'r')
			case c == '\t':
				buf = append(buf, '\\', 't')
			case c < 0x20:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				buf = append(buf, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, `\ufffd`...)
		} else {
			buf = append(buf, s[i:i+size]...)
		}
		i += size
	}
	return append(buf, '"')
}

// MaxBodyBytes bounds a body leaving Lua, as its JSON would be (the
// links' frame limit, net/wire.DefaultMaxFrame): one string referenced a
// thousand times is counted a thousand times, as it would be written.
const MaxBodyBytes = 16 << 20

// MaxDepth is the deepest nesting of arrays and objects a body may have:
// a Lua actor cannot send a deeper table (luart refuses it).
const MaxDepth = 64

// envelopeDepth is the nesting around a body in the deepest frame that
// carries one: a queued message in a move's reply (message → body →
// queue → message → body).
const envelopeDepth = 4

// maxDecodeDepth bounds the nesting the decoder accepts in a whole JSON
// text: a body of MaxDepth levels inside its envelopes. With MaxDepth
// alone, a body Lua may send (64 levels) did not decode at the receiving
// process, and a move carrying one failed.
const maxDecodeDepth = MaxDepth + envelopeDepth

// ValueSize estimates the bytes a body value holds in memory, for the
// memory an actor's timers hold (Actor.TimerBytes). Values nested deeper
// than MaxDepth are not counted.
func ValueSize(v any) int64 {
	return valueSize(v, 0)
}

func valueSize(v any, depth int) int64 {
	if depth > MaxDepth {
		return 0
	}
	switch x := v.(type) {
	case string:
		return 16 + int64(len(x))
	case RawJSON:
		return 24 + int64(len(x))
	case Object:
		n := int64(24 + 48*cap(x))
		for _, f := range x {
			n += int64(len(f.Key)) + valueSize(f.Value, depth+1)
		}
		return n
	case Array:
		n := int64(24 + 16*cap(x))
		for _, e := range x {
			n += valueSize(e, depth+1)
		}
		return n
	}
	return 16
}
