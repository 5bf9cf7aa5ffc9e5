package schema

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

const (
	sbeNamespace      = "http://fixprotocol.io/2016/sbe"
	xincludeNamespace = "http://www.w3.org/2001/XInclude"

	// maxIncludeDepth bounds nested xi:include chains.
	maxIncludeDepth = 16
	// maxNesting bounds element nesting, so that hostile input cannot make
	// the recursive resolver use unbounded stack.
	maxNesting = 64
	// maxIncludeSize bounds the size of an included file.
	maxIncludeSize = 16 << 20
)

// ParseFile reads, resolves and validates the SBE schema in the file at
// path. xi:include hrefs are resolved relative to the file's directory.
func ParseFile(path string) (*Schema, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err // "open <path>: ..."
	}
	return Parse(path, data)
}

// Parse resolves and validates the SBE schema in data. filename names the
// schema in positions and error messages, and its directory is where
// xi:include hrefs are read from (relative hrefs only are supported).
//
// The error, when the schema is wrong, is an *Error or an ErrorList and
// matches ErrInvalid.
func Parse(filename string, data []byte) (*Schema, error) {
	var sink errorSink
	root := parseXML(&sink, filename, data)
	if root != nil {
		expandIncludes(&sink, root, filename, []string{absPath(filename)}, 0)
	}
	if !sink.empty() || root == nil {
		return nil, sink.err()
	}
	s := resolve(&sink, root)
	if err := sink.err(); err != nil {
		return nil, err
	}
	return s, nil
}

// node is an XML element with the position of its start tag.
type node struct {
	pos      Pos
	space    string // namespace URL (the prefix itself if unbound)
	name     string // local name
	attrs    []xml.Attr
	text     string // character data directly inside the element
	children []*node
}

// attr returns the value of the un-namespaced attribute name.
func (n *node) attr(name string) (string, bool) {
	for _, a := range n.attrs {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

// describe renders the element for error messages: <enum name="Side">.
func (n *node) describe() string {
	if name, ok := n.attr("name"); ok {
		return fmt.Sprintf("<%s name=%q>", n.name, name)
	}
	return "<" + n.name + ">"
}

func (n *node) isXInclude() bool {
	return n.space == xincludeNamespace && n.name == "include"
}

// parseXML builds the element tree of one file. It returns nil after
// recording an error when the XML is malformed.
func parseXML(sink *errorSink, filename string, data []byte) *node {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.CharsetReader = func(charset string, input io.Reader) (io.Reader, error) {
		switch strings.ToLower(charset) {
		case "us-ascii", "ascii", "utf8":
			return input, nil
		}
		return nil, fmt.Errorf("unsupported encoding %q (use UTF-8)", charset)
	}
	var (
		root  *node
		stack []*node
		text  [][]byte
	)
	fail := func(err error) *node {
		line, col := d.InputPos()
		var se *xml.SyntaxError
		msg := err.Error()
		if errors.As(err, &se) {
			msg = se.Msg
			if se.Line != line {
				line, col = se.Line, 0
			}
		}
		sink.addError(&Error{Pos: Pos{File: filename, Line: line, Col: col}, Msg: "malformed XML: " + msg})
		return nil
	}
	for {
		line, col := d.InputPos()
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &node{
				pos:   Pos{File: filename, Line: line, Col: col},
				space: t.Name.Space,
				name:  t.Name.Local,
				attrs: t.Attr,
			}
			if len(stack) == 0 {
				if root != nil {
					return fail(errors.New("more than one root element"))
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			}
			if len(stack) >= maxNesting {
				return fail(fmt.Errorf("elements nested more than %d deep", maxNesting))
			}
			stack = append(stack, n)
			text = append(text, nil)
		case xml.EndElement:
			n := stack[len(stack)-1]
			n.text = string(text[len(text)-1])
			stack = stack[:len(stack)-1]
			text = text[:len(text)-1]
		case xml.CharData:
			if len(text) > 0 {
				text[len(text)-1] = append(text[len(text)-1], t...)
			}
		}
	}
	if root == nil {
		sink.addError(&Error{Pos: Pos{File: filename}, Msg: "malformed XML: no root element"})
	}
	return root
}

// readInclude reads an included schema file: a regular file of at most
// maxIncludeSize bytes, so that a stray href cannot block on a device or
// exhaust memory.
func readInclude(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if fi.Size() > maxIncludeSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxIncludeSize)
	}
	return io.ReadAll(io.LimitReader(f, maxIncludeSize))
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return filepath.Clean(p)
}

// expandIncludes replaces every xi:include below n with the root element of
// the included file. An included <types> inside <types> contributes its
// children, so both placements used by SBE schemas work. chain holds the
// absolute paths of the files being included, to stop cycles.
func expandIncludes(sink *errorSink, n *node, filename string, chain []string, depth int) {
	var out []*node
	for _, c := range n.children {
		if !c.isXInclude() {
			expandIncludes(sink, c, filename, chain, depth)
			out = append(out, c)
			continue
		}
		inc := include(sink, c, filename, chain, depth)
		if inc == nil {
			continue
		}
		if inc.name == n.name && n.name == "types" {
			out = append(out, inc.children...)
		} else {
			out = append(out, inc)
		}
	}
	n.children = out
}

// include loads the file named by the xi:include element c.
func include(sink *errorSink, c *node, filename string, chain []string, depth int) *node {
	href, ok := c.attr("href")
	if !ok || href == "" {
		sink.add(c, "xi:include without an href attribute")
		return nil
	}
	if p, ok := c.attr("parse"); ok && p != "xml" {
		sink.add(c, "xi:include parse=%q is not supported (only xml)", p)
		return nil
	}
	if _, ok := c.attr("xpointer"); ok {
		sink.add(c, "xi:include xpointer is not supported")
		return nil
	}
	if strings.Contains(href, "://") || filepath.IsAbs(href) {
		sink.add(c, "xi:include href %q must be a relative path", href)
		return nil
	}
	if depth >= maxIncludeDepth {
		sink.add(c, "xi:include nested more than %d deep", maxIncludeDepth)
		return nil
	}
	path := filepath.Join(filepath.Dir(filename), filepath.FromSlash(href))
	abs := absPath(path)
	for _, p := range chain {
		if p == abs {
			sink.add(c, "xi:include of %q includes itself", href)
			return nil
		}
	}
	data, err := readInclude(path)
	if err != nil {
		sink.add(c, "xi:include: %v", err)
		return nil
	}
	root := parseXML(sink, path, data)
	if root == nil {
		return nil
	}
	expandIncludes(sink, root, path, append(chain[:len(chain):len(chain)], abs), depth+1)
	return root
}
