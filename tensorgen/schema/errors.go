package schema

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrInvalid is matched (with errors.Is) by every error that Parse and
// ParseFile return because the schema itself is wrong: malformed XML, an
// unsupported construct, or a failed validation rule. Errors that are not
// about the schema (a file that cannot be read) do not match it.
var ErrInvalid = errors.New("invalid SBE schema")

// maxErrors caps the number of errors reported for one schema. A schema
// broken in one place tends to cascade; a few dozen messages are enough to
// fix it.
const maxErrors = 50

// Error is one problem in a schema, located at the element that has it.
type Error struct {
	Pos     Pos
	Element string // the offending element, e.g. `<enum name="Side">`
	Msg     string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Pos.String())
	if e.Element != "" {
		b.WriteString(": ")
		b.WriteString(e.Element)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Is reports whether target is ErrInvalid.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// ErrorList is every problem found in a schema, sorted by position. It is
// returned as the error of Parse when the schema has more than one problem.
type ErrorList []*Error

func (l ErrorList) Error() string {
	switch len(l) {
	case 0:
		return "no errors"
	case 1:
		return l[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d errors:", len(l))
	for _, e := range l {
		b.WriteString("\n\t")
		b.WriteString(e.Error())
	}
	return b.String()
}

// Is reports whether target is ErrInvalid.
func (l ErrorList) Is(target error) bool { return target == ErrInvalid }

// Unwrap returns the individual errors.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// errorSink collects errors while a schema is processed.
type errorSink struct {
	list      ErrorList
	truncated bool
}

// add records a problem at node n (which may be nil for the whole file).
func (s *errorSink) add(n *node, format string, args ...any) {
	e := &Error{Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Pos = n.pos
		e.Element = n.describe()
	}
	s.addError(e)
}

func (s *errorSink) addError(e *Error) {
	if len(s.list) >= maxErrors {
		s.truncated = true
		return
	}
	for _, old := range s.list {
		if *old == *e {
			return
		}
	}
	s.list = append(s.list, e)
}

func (s *errorSink) empty() bool { return len(s.list) == 0 }

// err returns nil, a single *Error, or an ErrorList sorted by position.
func (s *errorSink) err() error {
	if len(s.list) == 0 {
		return nil
	}
	list := append(ErrorList(nil), s.list...)
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i].Pos, list[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	if s.truncated {
		last := list[len(list)-1]
		list = append(list, &Error{Pos: Pos{File: last.Pos.File}, Msg: fmt.Sprintf("too many errors (stopped after %d)", maxErrors)})
	}
	if len(list) == 1 {
		return list[0]
	}
	return list
}
