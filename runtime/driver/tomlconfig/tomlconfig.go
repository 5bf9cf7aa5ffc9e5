// Package tomlconfig reads and writes the driver's configuration file: the
// TOML keys of the Driver Model spec section 17 (driver.Config), with the
// environment overrides the spec describes (the key in upper case with '.'
// replaced by '_', e.g. DRIVER_CONTROL_STREAM_ID), which win over the file.
//
// Errors name the file, line, key and problem ("tpoold.toml:12:1:
// policies.epoch_gc_kep: unknown key (did you mean epoch_gc_keep?)"), or the
// environment variable. Keys that the other implementations define and
// tpoold does not use (tensor_pool_c's [supervisor] table,
// AeronTensorPool.jl's policies.reuse_existing_shm, ...) are accepted and
// listed by Load as ignored; any other unknown key is an error.
package tomlconfig

import (
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"

	"github.com/tpool-go/tpool/runtime/driver"
)

// ErrConfig is wrapped by every *Error.
var ErrConfig = errors.New("tomlconfig: invalid configuration")

// Error is one problem of a configuration: in the file at Line (0 when the
// key is not in the file, e.g. a default that conflicts with a set key), or
// in the environment variable Env.
type Error struct {
	File    string
	Line    int
	Column  int
	Key     string // the TOML key, e.g. "policies.epoch_gc_keep"; may be empty for syntax errors
	Env     string // the environment variable, when the value came from there
	Problem string
}

func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.Env != "":
		b.WriteString("environment " + e.Env + ": ")
	case e.Line > 0:
		fmt.Fprintf(&b, "%s:%d:%d: ", e.File, e.Line, e.Column)
	case e.File != "":
		b.WriteString(e.File + ": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Problem)
	return b.String()
}

// Unwrap returns ErrConfig.
func (e *Error) Unwrap() error { return ErrConfig }

// Errors returns the *Errors inside an error of Load or Parse, in order.
func Errors(err error) []*Error {
	var out []*Error
	var walk func(error)
	walk = func(err error) {
		if e, ok := err.(*Error); ok {
			out = append(out, e)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
	return out
}

// Ignored is a key of the file that tpoold accepts but does not use.
type Ignored struct {
	Key  string
	Line int
	Why  string
}

func (i Ignored) String() string { return fmt.Sprintf("line %d: %s (%s)", i.Line, i.Key, i.Why) }

// Load reads the file at path, applies the environment (read through
// getenv; nil reads nothing) and the defaults, and validates the result.
// It returns the effective configuration (WithDefaults applied) and the
// keys of the file that tpoold ignores; on error, all problems found,
// joined (see Errors).
func Load(path string, getenv func(string) string) (driver.Config, []Ignored, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return driver.Config{}, nil, err
	}
	return Parse(path, data, getenv)
}

// FromEnv is Load without a file: the built-in defaults (driver.DefaultConfig)
// with the environment applied, validated.
func FromEnv(getenv func(string) string) (driver.Config, error) {
	c, _, err := Parse("", nil, getenv)
	return c, err
}

// Parse is Load for data already read; name is used in errors.
func Parse(name string, data []byte, getenv func(string) string) (driver.Config, []Ignored, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	l := &loader{file: name, getenv: getenv, pos: map[string]unstable.Position{}, fromEnv: map[string]string{}}
	c := driver.DefaultConfig()
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		return driver.Config{}, nil, l.syntaxError(err)
	}
	l.index(data)
	l.apply(&c, doc)
	l.applyEnv(&c)
	if len(l.errs) > 0 {
		return driver.Config{}, l.ignored, l.joined()
	}
	c = c.WithDefaults()
	for _, ce := range driver.ConfigErrors(c.Validate()) {
		l.errs = append(l.errs, l.locate(ce.Key, ce.Problem))
	}
	if len(l.errs) > 0 {
		return driver.Config{}, l.ignored, l.joined()
	}
	return c, l.ignored, nil
}

type loader struct {
	file    string
	getenv  func(string) string
	pos     map[string]unstable.Position // key path -> where it is set
	order   []string                     // key paths in file order
	fromEnv map[string]string            // key -> variable that set it
	errs    []*Error
	ignored []Ignored
}

func (l *loader) joined() error {
	sort.SliceStable(l.errs, func(i, j int) bool {
		a, b := l.errs[i], l.errs[j]
		if (a.Env == "") != (b.Env == "") {
			return a.Env == ""
		}
		return a.Line < b.Line
	})
	errs := make([]error, len(l.errs))
	for i, e := range l.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

func (l *loader) syntaxError(err error) error {
	e := &Error{File: l.file, Problem: strings.TrimPrefix(err.Error(), "toml: ")}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		e.Line, e.Column = de.Position()
		e.Key = strings.Join(de.Key(), ".")
	}
	return e
}

// errorf records a problem at key, placed at the key's line (or its
// closest enclosing table's) or at the variable that set it.
func (l *loader) errorf(key, format string, args ...any) {
	l.errs = append(l.errs, l.locate(key, fmt.Sprintf(format, args...)))
}

func (l *loader) locate(key, problem string) *Error {
	e := &Error{File: l.file, Key: key, Problem: problem}
	for k := key; k != ""; k = parent(k) {
		if env, ok := l.fromEnv[k]; ok {
			e.Env = env
			return e
		}
	}
	for k := key; k != ""; k = parent(k) {
		if p, ok := l.pos[k]; ok {
			e.Line, e.Column = p.Line, p.Column
			break
		}
	}
	return e
}

// parent strips the last element of a key path: "a.b[2].c" -> "a.b[2]" ->
// "a.b" -> "a" -> "".
func parent(k string) string {
	i := strings.LastIndexAny(k, ".[")
	if i < 0 {
		return ""
	}
	return k[:i]
}

// index records where every key path of the document is set. The document
// has already been decoded without error.
func (l *loader) index(data []byte) {
	var p unstable.Parser
	p.Reset(data)
	var prefix string
	arrays := map[string]int{}
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table:
			key, pos := l.keyOf(&p, e.Key())
			prefix = key
			l.note(key, pos)
		case unstable.ArrayTable:
			key, pos := l.keyOf(&p, e.Key())
			l.note(key, pos)
			prefix = fmt.Sprintf("%s[%d]", key, arrays[key])
			arrays[key]++
			l.note(prefix, pos)
		case unstable.KeyValue:
			l.keyValue(&p, prefix, e)
		}
	}
}

func (l *loader) keyValue(p *unstable.Parser, prefix string, kv *unstable.Node) {
	key, pos := l.keyOf(p, kv.Key())
	// A dotted key (p.header_nslots = 8) defines its tables where it
	// stands, if nothing did before.
	for i := range len(key) {
		if key[i] == '.' {
			l.note(join(prefix, key[:i]), pos)
		}
	}
	key = join(prefix, key)
	l.note(key, pos)
	l.value(p, key, kv.Value(), pos)
}

func (l *loader) value(p *unstable.Parser, key string, v *unstable.Node, pos unstable.Position) {
	switch v.Kind {
	case unstable.InlineTable:
		it := v.Children()
		for it.Next() {
			if it.Node().Kind == unstable.KeyValue {
				l.keyValue(p, key, it.Node())
			}
		}
	case unstable.Array:
		it := v.Children()
		for i := 0; it.Next(); {
			n := it.Node()
			if n.Kind == unstable.Comment {
				continue
			}
			ep := pos
			if n.Raw.Length > 0 {
				ep = p.Shape(n.Raw).Start
			}
			ek := fmt.Sprintf("%s[%d]", key, i)
			l.note(ek, ep)
			l.value(p, ek, n, ep)
			i++
		}
	}
}

func (l *loader) keyOf(p *unstable.Parser, it unstable.Iterator) (string, unstable.Position) {
	var parts []string
	var pos unstable.Position
	for it.Next() {
		n := it.Node()
		if len(parts) == 0 {
			pos = p.Shape(n.Raw).Start
		}
		parts = append(parts, string(n.Data))
	}
	return strings.Join(parts, "."), pos
}

func (l *loader) note(key string, pos unstable.Position) {
	if _, ok := l.pos[key]; !ok {
		l.pos[key] = pos
		l.order = append(l.order, key)
	}
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// field is one scalar key of the [driver], [shm] or [policies] table.
type field struct {
	key  string
	ptr  func(c *driver.Config) any // *string, *uint32, *bool, *time.Duration, *driver.StreamRange, *os.FileMode, *[]string
	unit time.Duration              // of a *time.Duration's TOML integer
}

// fields lists every key of section 17's three scalar tables (plus
// shm.namespace and policies.node_id_reuse_cooldown_ms, as the reference
// implementations read them), in the order Marshal writes them.
var fields = []field{
	{"driver.instance_id", func(c *driver.Config) any { return &c.Driver.InstanceID }, 0},
	{"driver.aeron_dir", func(c *driver.Config) any { return &c.Driver.AeronDir }, 0},
	{"driver.control_channel", func(c *driver.Config) any { return &c.Driver.ControlChannel }, 0},
	{"driver.control_stream_id", func(c *driver.Config) any { return &c.Driver.ControlStreamID }, 0},
	{"driver.announce_channel", func(c *driver.Config) any { return &c.Driver.AnnounceChannel }, 0},
	{"driver.announce_stream_id", func(c *driver.Config) any { return &c.Driver.AnnounceStreamID }, 0},
	{"driver.qos_channel", func(c *driver.Config) any { return &c.Driver.QoSChannel }, 0},
	{"driver.qos_stream_id", func(c *driver.Config) any { return &c.Driver.QoSStreamID }, 0},
	{"driver.stream_id_range", func(c *driver.Config) any { return &c.Driver.StreamIDRange }, 0},
	{"driver.descriptor_stream_id_range", func(c *driver.Config) any { return &c.Driver.DescriptorStreamIDRange }, 0},
	{"driver.control_stream_id_range", func(c *driver.Config) any { return &c.Driver.ControlStreamIDRange }, 0},

	{"shm.base_dir", func(c *driver.Config) any { return &c.SHM.BaseDir }, 0},
	{"shm.namespace", func(c *driver.Config) any { return &c.SHM.Namespace }, 0},
	{"shm.require_hugepages", func(c *driver.Config) any { return &c.SHM.RequireHugepages }, 0},
	{"shm.page_size_bytes", func(c *driver.Config) any { return &c.SHM.PageSizeBytes }, 0},
	{"shm.permissions_mode", func(c *driver.Config) any { return &c.SHM.PermissionsMode }, 0},
	{"shm.allowed_base_dirs", func(c *driver.Config) any { return &c.SHM.AllowedBaseDirs }, 0},

	{"policies.allow_dynamic_streams", func(c *driver.Config) any { return &c.Policies.AllowDynamicStreams }, 0},
	{"policies.default_profile", func(c *driver.Config) any { return &c.Policies.DefaultProfile }, 0},
	{"policies.announce_period_ms", func(c *driver.Config) any { return &c.Policies.AnnouncePeriod }, time.Millisecond},
	{"policies.lease_keepalive_interval_ms", func(c *driver.Config) any { return &c.Policies.LeaseKeepaliveInterval }, time.Millisecond},
	{"policies.lease_expiry_grace_intervals", func(c *driver.Config) any { return &c.Policies.LeaseExpiryGraceIntervals }, 0},
	{"policies.prefault_shm", func(c *driver.Config) any { return &c.Policies.PrefaultSHM }, 0},
	{"policies.mlock_shm", func(c *driver.Config) any { return &c.Policies.MlockSHM }, 0},
	{"policies.epoch_gc_enabled", func(c *driver.Config) any { return &c.Policies.EpochGCEnabled }, 0},
	{"policies.epoch_gc_keep", func(c *driver.Config) any { return &c.Policies.EpochGCKeep }, 0},
	{"policies.epoch_gc_min_age_ns", func(c *driver.Config) any { return &c.Policies.EpochGCMinAge }, time.Nanosecond},
	{"policies.epoch_gc_on_startup", func(c *driver.Config) any { return &c.Policies.EpochGCOnStartup }, 0},
	{"policies.shutdown_timeout_ms", func(c *driver.Config) any { return &c.Policies.ShutdownTimeout }, time.Millisecond},
	{"policies.shutdown_token", func(c *driver.Config) any { return &c.Policies.ShutdownToken }, 0},
	{"policies.node_id_reuse_cooldown_ms", func(c *driver.Config) any { return &c.Policies.NodeIDReuseCooldown }, time.Millisecond},
}

// Keys accepted but unused, with why. A key ending in ".*" covers a table.
var foreign = []struct{ key, why string }{
	{"supervisor.*", "tensor_pool_c's supervisor settings; tpoold has no supervisor"},
	{"policies.reuse_existing_shm", "AeronTensorPool.jl setting; tpoold always creates a new epoch"},
	{"policies.cleanup_shm_on_exit", "AeronTensorPool.jl setting; tpoold always removes its SHM on a clean stop"},
	{"profiles.*.header_slot_bytes", "AeronTensorPool.jl setting; header slots are always 256 bytes"},
}

// Keys of the profile, pool and stream tables.
var (
	profileKeys = []string{"header_nslots", "payload_pools"}
	poolKeys    = []string{"pool_id", "stride_bytes"}
	streamKeys  = []string{"stream_id", "profile"}
)

func (l *loader) ignore(key, why string) {
	l.ignored = append(l.ignored, Ignored{Key: key, Line: l.pos[key].Line, Why: why})
}

// foreignWhy reports whether key (a full key path) is a foreign key, and
// why tpoold ignores it.
func foreignWhy(key string) (string, bool) {
	got := strings.Split(key, ".")
	for _, f := range foreign {
		pat := strings.Split(f.key, ".")
		if pat[len(pat)-1] == "*" { // a whole table
			if len(got) >= len(pat) && slices.Equal(got[:len(pat)-1], pat[:len(pat)-1]) {
				return f.why, true
			}
			continue
		}
		if len(got) != len(pat) {
			continue
		}
		match := true
		for i := range pat {
			if pat[i] != "*" && pat[i] != got[i] {
				match = false
				break
			}
		}
		if match {
			return f.why, true
		}
	}
	return "", false
}

func (l *loader) apply(c *driver.Config, doc map[string]any) {
	top := l.sortedKeys("", doc)
	for _, k := range top {
		v := doc[k]
		switch k {
		case "driver", "shm", "policies":
			t, ok := l.table(k, v)
			if !ok {
				continue
			}
			var known []string
			for _, f := range fields {
				if s, ok := strings.CutPrefix(f.key, k+"."); ok {
					known = append(known, s)
				}
			}
			for _, sub := range l.sortedKeys(k, t) {
				key := k + "." + sub
				i := slices.IndexFunc(fields, func(f field) bool { return f.key == key })
				if i < 0 {
					if why, ok := foreignWhy(key); ok {
						l.ignore(key, why)
						continue
					}
					l.unknown(key, sub, known)
					continue
				}
				l.assign(key, fields[i].ptr(c), fields[i].unit, t[sub])
			}
		case "profiles", "streams":
			// handled below, once the rest is known
		default:
			if why, ok := foreignWhy(k + ".x"); ok {
				l.ignore(k, why)
				continue
			}
			l.unknown(k, k, []string{"driver", "shm", "policies", "profiles", "streams"})
		}
	}
	// A file that defines profiles or streams replaces the built-in ones.
	_, hasP := doc["profiles"]
	_, hasS := doc["streams"]
	if hasP || hasS {
		c.Profiles, c.Streams = nil, nil
	}
	if v, ok := doc["profiles"]; ok {
		if t, ok := l.table("profiles", v); ok {
			for _, name := range l.sortedKeys("profiles", t) {
				c.Profiles = append(c.Profiles, l.profile(name, t[name]))
			}
		}
	}
	if v, ok := doc["streams"]; ok {
		if t, ok := l.table("streams", v); ok {
			for _, name := range l.sortedKeys("streams", t) {
				c.Streams = append(c.Streams, l.stream(name, t[name]))
			}
		}
	}
}

func (l *loader) profile(name string, v any) driver.Profile {
	p := driver.Profile{Name: name, HeaderNslots: driver.DefaultHeaderNslots}
	key := "profiles." + name
	t, ok := l.table(key, v)
	if !ok {
		return p
	}
	if _, ok := t["payload_pools"]; !ok {
		l.errorf(key, "missing payload_pools (at least one pool: [[%s.payload_pools]] with pool_id and stride_bytes)", key)
	}
	for _, sub := range l.sortedKeys(key, t) {
		k := key + "." + sub
		switch sub {
		case "header_nslots":
			l.assign(k, &p.HeaderNslots, 0, t[sub])
		case "payload_pools":
			arr, ok := t[sub].([]any)
			if !ok {
				l.errorf(k, "want an array of tables with pool_id and stride_bytes, got %s", describe(t[sub]))
				continue
			}
			for i, e := range arr {
				p.PayloadPools = append(p.PayloadPools, l.pool(fmt.Sprintf("%s[%d]", k, i), e))
			}
		default:
			if why, ok := foreignWhy(k); ok {
				l.ignore(k, why)
				continue
			}
			l.unknown(k, sub, profileKeys)
		}
	}
	return p
}

func (l *loader) pool(key string, v any) driver.PoolSpec {
	var ps driver.PoolSpec
	t, ok := l.table(key, v)
	if !ok {
		return ps
	}
	l.require(key, t, poolKeys)
	for _, sub := range l.sortedKeys(key, t) {
		k := key + "." + sub
		switch sub {
		case "pool_id":
			l.assign(k, &ps.PoolID, 0, t[sub])
		case "stride_bytes":
			l.assign(k, &ps.StrideBytes, 0, t[sub])
		default:
			l.unknown(k, sub, poolKeys)
		}
	}
	return ps
}

func (l *loader) stream(name string, v any) driver.StreamConfig {
	s := driver.StreamConfig{Name: name}
	key := "streams." + name
	t, ok := l.table(key, v)
	if !ok {
		return s
	}
	l.require(key, t, streamKeys)
	for _, sub := range l.sortedKeys(key, t) {
		k := key + "." + sub
		switch sub {
		case "stream_id":
			l.assign(k, &s.StreamID, 0, t[sub])
		case "profile":
			l.assign(k, &s.Profile, 0, t[sub])
		default:
			l.unknown(k, sub, streamKeys)
		}
	}
	return s
}

// require reports each of keys that table t (at key) lacks.
func (l *loader) require(key string, t map[string]any, keys []string) {
	for _, req := range keys {
		if _, ok := t[req]; !ok {
			l.errorf(key, "missing %s", req)
		}
	}
}

func (l *loader) table(key string, v any) (map[string]any, bool) {
	t, ok := v.(map[string]any)
	if !ok {
		l.errorf(key, "want a table, got %s", describe(v))
	}
	return t, ok
}

// sortedKeys returns t's keys in file order (keys the index does not know,
// which cannot happen for a decoded file, last and sorted).
func (l *loader) sortedKeys(prefix string, t map[string]any) []string {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	rank := func(k string) int {
		if p, ok := l.pos[join(prefix, k)]; ok {
			return p.Offset
		}
		return math.MaxInt
	}
	sort.Slice(keys, func(i, j int) bool {
		ri, rj := rank(keys[i]), rank(keys[j])
		if ri != rj {
			return ri < rj
		}
		return keys[i] < keys[j]
	})
	return keys
}

func (l *loader) unknown(key, name string, known []string) {
	msg := "unknown key"
	if s := suggest(name, known); s != "" {
		msg += " (did you mean " + s + "?)"
	}
	l.errorf(key, "%s", msg)
}

// suggest returns a known name that name is likely a typo of: one of them
// a prefix of the other, or the closest by edit distance if close enough.
func suggest(name string, known []string) string {
	best, bestD := "", math.MaxInt
	for _, k := range known {
		if len(name) >= 3 && (strings.HasPrefix(k, name) || strings.HasPrefix(name, k)) {
			return k
		}
		if d := editDistance(name, k); d < bestD {
			best, bestD = k, d
		}
	}
	if bestD <= max(2, len(name)/3) {
		return best
	}
	return ""
}

// editDistance is the Levenshtein distance, with a transposition costing 1.
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

func describe(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("string %q", x)
	case int64:
		return fmt.Sprintf("integer %d", x)
	case float64:
		return fmt.Sprintf("float %v", x)
	case bool:
		return fmt.Sprintf("boolean %v", x)
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// assign stores the TOML value v into dst (a field pointer) or records why
// it cannot.
func (l *loader) assign(key string, dst any, unit time.Duration, v any) {
	switch d := dst.(type) {
	case *string:
		s, ok := v.(string)
		if !ok {
			l.errorf(key, "want a string, got %s", describe(v))
			return
		}
		*d = s
	case *bool:
		b, ok := v.(bool)
		if !ok {
			l.errorf(key, "want true or false, got %s", describe(v))
			return
		}
		*d = b
	case *uint32:
		n, ok := v.(int64)
		if !ok || n < 0 || n > math.MaxUint32 {
			l.errorf(key, "want an integer in 0..%d, got %s", uint32(math.MaxUint32), describe(v))
			return
		}
		*d = uint32(n)
	case *uint16:
		n, ok := v.(int64)
		if !ok || n < 0 || n > math.MaxUint16 {
			l.errorf(key, "want an integer in 0..%d, got %s", math.MaxUint16, describe(v))
			return
		}
		*d = uint16(n)
	case *time.Duration:
		n, ok := v.(int64)
		limit := int64(math.MaxUint32)
		if unit == time.Nanosecond {
			limit = math.MaxInt64
		}
		if !ok || n < 0 || n > limit {
			l.errorf(key, "want an integer in 0..%d, got %s", limit, describe(v))
			return
		}
		*d = time.Duration(n) * unit
	case *os.FileMode:
		s, ok := v.(string)
		if !ok {
			l.errorf(key, `want an octal mode as a string (e.g. "660"), got %s`, describe(v))
			return
		}
		m, err := parseMode(s)
		if err != nil {
			l.errorf(key, "%v", err)
			return
		}
		*d = m
	case *driver.StreamRange:
		r, err := parseRange(v)
		if err != nil {
			l.errorf(key, "%v", err)
			return
		}
		*d = r
	case *[]string:
		arr, ok := v.([]any)
		if !ok {
			l.errorf(key, "want an array of strings, got %s", describe(v))
			return
		}
		out := make([]string, 0, len(arr))
		for i, e := range arr {
			s, ok := e.(string)
			if !ok {
				l.errorf(fmt.Sprintf("%s[%d]", key, i), "want a string, got %s", describe(e))
				return
			}
			out = append(out, s)
		}
		*d = out
	default:
		panic(fmt.Sprintf("tomlconfig: field %s has unsupported type %T", key, dst))
	}
}

func parseMode(s string) (os.FileMode, error) {
	t := strings.TrimPrefix(strings.TrimPrefix(s, "0o"), "0")
	if t == "" {
		t = "0"
	}
	n, err := strconv.ParseUint(t, 8, 32)
	if err != nil || n > 0o777 {
		return 0, fmt.Errorf(`%q is not an octal permission mode like "660"`, s)
	}
	return os.FileMode(n), nil
}

// parseRange reads a range as section 17 allows: "FIRST-LAST", or an array
// [FIRST, LAST]; "" and [] are unset.
func parseRange(v any) (driver.StreamRange, error) {
	const want = `want "FIRST-LAST" or [FIRST, LAST]`
	switch x := v.(type) {
	case string:
		r, err := driver.ParseStreamRange(x)
		if err != nil {
			return r, fmt.Errorf("%s, got string %q", want, x)
		}
		return r, nil
	case []any:
		if len(x) == 0 {
			return driver.StreamRange{}, nil
		}
		if len(x) != 2 {
			return driver.StreamRange{}, fmt.Errorf("%s, got an array of %d", want, len(x))
		}
		var ends [2]uint32
		for i, e := range x {
			n, ok := e.(int64)
			if !ok || n < 0 || n > math.MaxUint32 {
				return driver.StreamRange{}, fmt.Errorf("%s, got %s in the array", want, describe(e))
			}
			ends[i] = uint32(n)
		}
		return driver.Range(ends[0], ends[1]), nil
	default:
		return driver.StreamRange{}, fmt.Errorf("%s, got %s", want, describe(v))
	}
}
