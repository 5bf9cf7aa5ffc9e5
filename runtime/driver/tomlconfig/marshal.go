package tomlconfig

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tpool-go/tpool/runtime/driver"
)

// Marshal writes c as a TOML configuration file that Parse reads back to c
// (with no environment). Every key is written, derived defaults as they are
// in c (zero stands for "derived"), durations in the unit of their key. It
// fails for a value the file cannot hold: a duration that is not a whole
// number of its key's unit, or a string that is not UTF-8.
func Marshal(c driver.Config) ([]byte, error) {
	var m marshaler
	m.line("# tpoold configuration: the keys of the SHM Driver Model spec section 17.")
	m.line("# Each key can be overridden by an environment variable: the key in upper")
	m.line("# case with '.' replaced by '_' (driver.control_stream_id: DRIVER_CONTROL_STREAM_ID).")
	table := ""
	for _, f := range fields {
		t, name, _ := strings.Cut(f.key, ".")
		if t != table {
			m.line("")
			m.line("[" + t + "]")
			table = t
		}
		m.keyValue(f.key, name, f.ptr(&c), f.unit)
	}
	for i := range c.Profiles {
		p := &c.Profiles[i]
		m.line("")
		m.line("[profiles." + m.key(p.Name) + "]")
		m.keyValue("profiles."+p.Name+".header_nslots", "header_nslots", &p.HeaderNslots, 0)
		for j := range p.PayloadPools {
			pp := &p.PayloadPools[j]
			m.line("")
			m.line("[[profiles." + m.key(p.Name) + ".payload_pools]]")
			m.keyValue("", "pool_id", &pp.PoolID, 0)
			m.keyValue("", "stride_bytes", &pp.StrideBytes, 0)
		}
	}
	if len(c.Streams) == 0 {
		// An empty [streams] table keeps the file from getting the
		// built-in stream back.
		m.line("")
		m.line("[streams]")
	}
	for i := range c.Streams {
		s := &c.Streams[i]
		m.line("")
		m.line("[streams." + m.key(s.Name) + "]")
		m.keyValue("", "stream_id", &s.StreamID, 0)
		m.keyValue("streams."+s.Name+".profile", "profile", &s.Profile, 0)
	}
	if len(c.Profiles) == 0 {
		m.line("")
		m.line("[profiles]")
	}
	return m.buf.Bytes(), m.err
}

type marshaler struct {
	buf bytes.Buffer
	err error
}

func (m *marshaler) line(s string) { m.buf.WriteString(s + "\n") }

func (m *marshaler) fail(fullKey, format string, args ...any) {
	if m.err == nil {
		m.err = fmt.Errorf("marshal %s: %s", fullKey, fmt.Sprintf(format, args...))
	}
}

func (m *marshaler) keyValue(fullKey, name string, v any, unit time.Duration) {
	var s string
	switch x := v.(type) {
	case *string:
		s = m.str(fullKey, *x)
	case *bool:
		s = strconv.FormatBool(*x)
	case *uint32:
		s = strconv.FormatUint(uint64(*x), 10)
	case *uint16:
		s = strconv.FormatUint(uint64(*x), 10)
	case *time.Duration:
		if *x < 0 || *x%unit != 0 {
			m.fail(fullKey, "%v is not a whole number of %v", *x, unit)
		}
		s = strconv.FormatInt(int64(*x/unit), 10)
	case *os.FileMode:
		s = `"` + strconv.FormatUint(uint64(*x&os.ModePerm), 8) + `"`
		if *x&^os.ModePerm != 0 {
			m.fail(fullKey, "mode %v has bits other than permissions", *x)
		}
	case *driver.StreamRange:
		if x.Set {
			s = `"` + x.String() + `"`
		} else {
			s = `""`
		}
	case *[]string:
		parts := make([]string, len(*x))
		for i, e := range *x {
			parts[i] = m.str(fullKey, e)
		}
		s = "[" + strings.Join(parts, ", ") + "]"
	default:
		panic(fmt.Sprintf("tomlconfig: field %s has unsupported type %T", fullKey, v))
	}
	m.line(m.key(name) + " = " + s)
}

// str quotes s as a TOML basic string.
func (m *marshaler) str(fullKey, s string) string {
	if !utf8.ValidString(s) {
		m.fail(fullKey, "%q is not UTF-8", s)
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// key writes a key bare when TOML allows it, quoted otherwise.
func (m *marshaler) key(k string) string {
	bare := k != ""
	for _, r := range k {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			bare = false
			break
		}
	}
	if bare {
		return k
	}
	return m.str(k, k)
}
