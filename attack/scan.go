package attack

import (
	"errors"
	"fmt"
)

// eachObject calls fn with the bytes of every element of the top-level "objects" array of a
// JSON object. It steps over values by bracket and string structure only, which is far cheaper
// than decoding them; the caller decodes the elements it wants.
func eachObject(data []byte, fn func([]byte) error) error {
	s := scanner{data: data}
	if err := s.expect('{'); err != nil {
		return err
	}
	for first := true; ; first = false {
		s.space()
		if s.peek() == '}' {
			s.pos++
			break
		}
		if !first {
			if err := s.expect(','); err != nil {
				return err
			}
		}
		key, err := s.key()
		if err != nil {
			return err
		}
		if key != "objects" {
			if err := s.skipValue(); err != nil {
				return err
			}
			continue
		}
		if err := s.array(fn); err != nil {
			return err
		}
	}
	s.space()
	if s.pos != len(s.data) {
		return s.errorf("data after the bundle")
	}
	return nil
}

type scanner struct {
	data []byte
	pos  int
}

func (s *scanner) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", s.pos, fmt.Sprintf(format, args...))
}

func (s *scanner) space() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\r', '\n':
			s.pos++
		default:
			return
		}
	}
}

// peek returns the next byte, or 0 at the end.
func (s *scanner) peek() byte {
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

func (s *scanner) expect(c byte) error {
	s.space()
	if s.peek() != c {
		if s.pos >= len(s.data) {
			return s.errorf("expected %q, found end of data", c)
		}
		return s.errorf("expected %q, found %q", c, s.data[s.pos])
	}
	s.pos++
	return nil
}

// key reads an object key and its colon. Keys with escapes are returned raw, which is enough
// to recognise "objects".
func (s *scanner) key() (string, error) {
	s.space()
	start := s.pos
	if err := s.skipString(); err != nil {
		return "", err
	}
	key := string(s.data[start+1 : s.pos-1])
	return key, s.expect(':')
}

func (s *scanner) array(fn func([]byte) error) error {
	if err := s.expect('['); err != nil {
		return err
	}
	for first := true; ; first = false {
		s.space()
		if s.peek() == ']' {
			s.pos++
			return nil
		}
		if !first {
			if err := s.expect(','); err != nil {
				return err
			}
			s.space()
		}
		start := s.pos
		if err := s.skipValue(); err != nil {
			return err
		}
		if err := fn(s.data[start:s.pos]); err != nil {
			return err
		}
	}
}

func (s *scanner) skipString() error {
	if s.peek() != '"' {
		return s.errorf("expected string")
	}
	for i := s.pos + 1; i < len(s.data); i++ {
		switch s.data[i] {
		case '\\':
			i++
		case '"':
			s.pos = i + 1
			return nil
		}
	}
	return s.errorf("unterminated string")
}

var errDepth = errors.New("brackets do not match")

// skipValue steps over one value: a string, an object or array (by matching brackets outside
// strings), or a literal.
func (s *scanner) skipValue() error {
	s.space()
	switch c := s.peek(); c {
	case '"':
		return s.skipString()
	case '{', '[':
		var stack []byte
		for s.pos < len(s.data) {
			switch c := s.data[s.pos]; c {
			case '"':
				if err := s.skipString(); err != nil {
					return err
				}
				continue
			case '{', '[':
				stack = append(stack, c)
			case '}', ']':
				open := byte('{')
				if c == ']' {
					open = '['
				}
				if len(stack) == 0 || stack[len(stack)-1] != open {
					return s.errorf("%v", errDepth)
				}
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					s.pos++
					return nil
				}
			}
			s.pos++
		}
		return s.errorf("unterminated %q", c)
	case 0:
		return s.errorf("expected a value, found end of data")
	default:
		start := s.pos
		for s.pos < len(s.data) {
			switch s.data[s.pos] {
			case ',', '}', ']', ' ', '\t', '\r', '\n':
				if s.pos == start {
					return s.errorf("expected a value")
				}
				return nil
			}
			s.pos++
		}
		return nil
	}
}
