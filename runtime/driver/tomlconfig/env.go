package tomlconfig

import (
	"strconv"
	"strings"
	"time"

	"github.com/tpool-go/tpool/runtime/driver"
)

// EnvName is the environment variable of a key (section 17: upper case,
// '.' replaced by '_'; tpoold also replaces '-'): driver.control_stream_id
// is DRIVER_CONTROL_STREAM_ID.
func EnvName(key string) string {
	return strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key))
}

// EnvAeronDir is Aeron's own variable for its directory. It is not a key
// of the file: with driver.aeron_dir unset, the driver's embedded media
// driver runs there (see driver.Start and docs/DRIVER.md).
const EnvAeronDir = "AERON_DIR"

// EnvKeys lists the keys that environment variables can set: every key of
// [driver], [shm] and [policies]; for each profile and stream of the
// configuration, profiles.<name>.header_nslots, streams.<name>.stream_id and
// streams.<name>.profile.
func EnvKeys() []string {
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.key
	}
	return keys
}

// applyEnv overrides c with the environment. An empty variable counts as
// unset. Lists (shm.allowed_base_dirs) are comma-separated.
func (l *loader) applyEnv(c *driver.Config) {
	for _, f := range fields {
		name := EnvName(f.key)
		if v := l.getenv(name); v != "" {
			l.assignEnv(f.key, name, f.ptr(c), f.unit, v)
		}
	}
	for i := range c.Profiles {
		p := &c.Profiles[i]
		key := "profiles." + p.Name + ".header_nslots"
		if v := l.getenv(EnvName(key)); v != "" {
			l.assignEnv(key, EnvName(key), &p.HeaderNslots, 0, v)
		}
	}
	for i := range c.Streams {
		s := &c.Streams[i]
		for _, k := range []struct {
			key string
			dst any
		}{{"streams." + s.Name + ".stream_id", &s.StreamID}, {"streams." + s.Name + ".profile", &s.Profile}} {
			if v := l.getenv(EnvName(k.key)); v != "" {
				l.assignEnv(k.key, EnvName(k.key), k.dst, 0, v)
			}
		}
	}
}

// assignEnv converts the variable's text to the TOML value it stands for
// and assigns it; errors name the variable.
func (l *loader) assignEnv(key, name string, dst any, unit time.Duration, v string) {
	l.fromEnv[key] = name
	var tv any = v
	switch dst.(type) {
	case *bool:
		if b, err := strconv.ParseBool(v); err == nil {
			tv = b
		}
	case *uint32, *uint16, *time.Duration:
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			tv = n
		}
	case *[]string:
		var arr []any
		for _, s := range strings.Split(v, ",") {
			arr = append(arr, strings.TrimSpace(s))
		}
		tv = arr
	}
	l.assign(key, dst, unit, tv)
}
