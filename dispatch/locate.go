package dispatch

import (
	"bytes"
	"encoding/json"
	"strings"
)

// locate finds, in an event body, the value of the top-level "type" key (a
// JSON string without escapes, returned without its quotes) and the exact
// bytes of data.object. It lets Decode pick the handler's type before the
// body is decoded, so that envelope and object are decoded in one pass.
//
// locate is only a fast path: ok is false for anything unusual (escaped or
// case-variant keys, duplicate keys, non-string type), and the caller then
// decodes the slow way, with encoding/json's own rules and errors. It does
// not validate: the body is validated by the decode that follows. On valid
// JSON, when ok is true, its answers equal encoding/json's (see FuzzLocate).
//
// This is hand-written because encoding/json offers no way to read one key
// before decoding the whole value, and a full decode to find the type is
// the cost this avoids.
func locate(b []byte) (typ, object []byte, ok bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, nil, false
	}
	var haveType, haveData bool
	complete := eachMember(b, i, func(key, value []byte) bool {
		switch {
		case string(key) == "type":
			if haveType || len(value) < 2 || value[0] != '"' || !plainASCII(value[1:len(value)-1]) {
				return false
			}
			haveType, typ = true, value[1:len(value)-1]
		case string(key) == "data":
			if haveData || len(value) == 0 || value[0] != '{' {
				return false
			}
			haveData = true
			haveObject := false
			if !eachMember(value, 0, func(k, v []byte) bool {
				switch {
				case string(k) == "object":
					if haveObject {
						return false
					}
					haveObject, object = true, v
				case strings.EqualFold(string(k), "object"):
					return false
				}
				return true
			}) || !haveObject {
				return false
			}
		case strings.EqualFold(string(key), "type"), strings.EqualFold(string(key), "data"):
			return false // encoding/json would match it case-insensitively
		}
		return true
	})
	if !complete || !haveType || !haveData {
		return nil, nil, false
	}
	return typ, object, true
}

// eachMember calls fn with the key and the raw value of each member of the
// JSON object starting at b[i], stopping when fn returns false. It returns
// false if it stopped early or the object is not of a form it reads: a key
// with escapes, or malformed JSON.
func eachMember(b []byte, i int, fn func(key, value []byte) bool) bool {
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return false
		}
		end := skipString(b, i)
		if end < 0 {
			return false
		}
		key := b[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			return false
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipSpace(b, i+1)
		vend := skipValue(b, i)
		if vend < 0 || !fn(key, b[i:vend]) {
			return false
		}
		i = skipSpace(b, vend)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return true
		default:
			return false
		}
	}
}

// plainASCII reports whether s is printable ASCII without backslashes: a
// JSON string body that decodes to itself.
func plainASCII(s []byte) bool {
	for _, c := range s {
		if c < 0x20 || c > 0x7e || c == '\\' {
			return false
		}
	}
	return true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// skipString returns the index just past the string starting at b[i] (a
// quote), or -1.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '"':
			return i + 1
		case '\\':
			i++ // skip the escaped character
		}
	}
	return -1
}

// skipValue returns the index just past the JSON value starting at b[i], or
// -1. Numbers and literals are skipped up to the next delimiter; the decode
// that follows checks them.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				if i = skipString(b, i); i < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	default:
		start := i
	scan:
		for ; i < len(b); i++ {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\r', '\n':
				break scan
			}
		}
		if i == start {
			return -1
		}
		return i
	}
}

// objectID returns the top-level "id" of data.object, the exact bytes obj,
// or "" when it has none that is a string.
func objectID(obj []byte) string {
	var id string
	found, plain := false, true
	eachMember(obj, skipSpace(obj, 0), func(key, value []byte) bool {
		if string(key) != "id" && !strings.EqualFold(string(key), "id") {
			return true
		}
		if found || string(key) != "id" || len(value) < 2 || value[0] != '"' || !plainASCII(value[1:len(value)-1]) {
			plain = false
			return false
		}
		found, id = true, string(value[1:len(value)-1])
		return true
	})
	if found && plain {
		return id
	}
	// Anything unusual: encoding/json's own rules.
	var o struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(obj, &o) != nil {
		return ""
	}
	var s string
	if json.Unmarshal(o.ID, &s) != nil {
		return ""
	}
	return s
}
