// Package codectest drives generated codecs by reflection, following the
// resolved schema model, so that tests can encode and check any message of
// any schema from JSON-like values. It is used only by tests.
//
// Values follow the conventions of the shared test vectors: integers as
// json.Number (or any Go number), enums as {"name":..., "raw":...}, a name
// or a number, sets as a number or a list of choice names, fixed arrays as
// lists, char arrays and var data as strings or {"hex": "..."}, composites
// as objects, groups as lists of objects.
package codectest

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"unicode"

	"github.com/tpool-go/tpool/runtime/sbe"
	"github.com/tpool-go/tpool/tensorgen/schema"
)

func exported(s string) string {
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

func call(v reflect.Value, name string, args ...reflect.Value) ([]reflect.Value, error) {
	m := v.MethodByName(name)
	if !m.IsValid() {
		return nil, fmt.Errorf("%s has no method %s", v.Type(), name)
	}
	return m.Call(args), nil
}

func errOf(out []reflect.Value) error {
	if len(out) == 0 {
		return nil
	}
	last := out[len(out)-1]
	if last.Type() == reflect.TypeFor[error]() && !last.IsNil() {
		return last.Interface().(error)
	}
	return nil
}

// number converts a JSON-ish value to its text.
func number(v any) (string, error) {
	switch x := v.(type) {
	case json.Number:
		return x.String(), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case string:
		if len(x) == 1 {
			return strconv.Itoa(int(x[0])), nil
		}
	case bool:
		if x {
			return "1", nil
		}
		return "0", nil
	case map[string]any:
		if raw, ok := x["raw"]; ok {
			return number(raw)
		}
	}
	return "", fmt.Errorf("not a number: %#v", v)
}

// scalarValue builds a reflect.Value of type t from a JSON-ish value.
func scalarValue(t reflect.Type, v any) (reflect.Value, error) {
	s, err := number(v)
	if err != nil {
		return reflect.Value{}, err
	}
	out := reflect.New(t).Elem()
	switch t.Kind() {
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Int:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return out, err
		}
		out.SetInt(n)
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uint:
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return out, err
		}
		out.SetUint(n)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return out, err
		}
		out.SetFloat(f)
	default:
		return out, fmt.Errorf("unsupported scalar kind %s", t.Kind())
	}
	return out, nil
}

func bytesOf(v any) ([]byte, error) {
	switch x := v.(type) {
	case string:
		return []byte(x), nil
	case map[string]any:
		if h, ok := x["hex"].(string); ok {
			return hex.DecodeString(h)
		}
	case nil:
		return nil, nil
	}
	return nil, fmt.Errorf("not bytes: %#v", v)
}

func setChoices(s *schema.Set, v any) (any, error) {
	list, ok := v.([]any)
	if !ok {
		return v, nil
	}
	var bits uint64
	for _, n := range list {
		name, _ := n.(string)
		found := false
		for _, c := range s.Choices {
			if c.Name == name {
				bits |= 1 << c.Bit
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("set %s has no choice %q", s.Name, name)
		}
	}
	return json.Number(strconv.FormatUint(bits, 10)), nil
}

// Encode writes values into enc (a pointer to a generated message encoder,
// already wrapped) following message m, then calls Finish and returns the
// encoded length.
func Encode(enc any, m *schema.Message, values map[string]any) (int, error) {
	v := reflect.ValueOf(enc)
	if err := encodeLevel(v, m.Fields, m.Groups, m.Data, values); err != nil {
		return 0, err
	}
	out, err := call(v, "Finish")
	if err != nil {
		return 0, err
	}
	if err := errOf(out); err != nil {
		return 0, fmt.Errorf("finish: %w", err)
	}
	return int(out[0].Int()), nil
}

func encodeLevel(v reflect.Value, fields []*schema.Field, groups []*schema.Group, data []*schema.Data, values map[string]any) error {
	for _, f := range fields {
		if f.Presence == schema.Constant {
			continue
		}
		val, ok := values[f.Name]
		if !ok {
			continue
		}
		if err := encodeField(v, f.Name, f.Type, f.Presence, val); err != nil {
			return fmt.Errorf("field %s: %w", f.Name, err)
		}
	}
	for _, g := range groups {
		val, ok := values[g.Name]
		if !ok {
			continue
		}
		list, ok := val.([]any)
		if !ok {
			return fmt.Errorf("group %s: not a list", g.Name)
		}
		out, err := call(v, exported(g.Name), reflect.ValueOf(len(list)))
		if err != nil {
			return err
		}
		if err := errOf(out); err != nil {
			return fmt.Errorf("group %s: %w", g.Name, err)
		}
		ge := out[0]
		for i, e := range list {
			if err := errOf(ge.MethodByName("Next").Call(nil)); err != nil {
				return fmt.Errorf("group %s[%d]: Next: %w", g.Name, i, err)
			}
			entry, _ := e.(map[string]any)
			if err := encodeLevel(ge, g.Fields, g.Groups, g.Data, entry); err != nil {
				return fmt.Errorf("group %s[%d]: %w", g.Name, i, err)
			}
		}
	}
	for _, d := range data {
		val, ok := values[d.Name]
		if !ok {
			continue
		}
		b, err := bytesOf(val)
		if err != nil {
			return fmt.Errorf("data %s: %w", d.Name, err)
		}
		out, err := call(v, "Set"+exported(d.Name), reflect.ValueOf(b))
		if err != nil {
			return err
		}
		if err := errOf(out); err != nil {
			return fmt.Errorf("data %s: %w", d.Name, err)
		}
	}
	return nil
}

func encodeField(v reflect.Value, name string, t schema.Type, presence schema.Presence, val any) error {
	m := exported(name)
	if val == nil && presence == schema.Optional {
		_, err := call(v, "Set"+m+"Null")
		return err
	}
	switch t := t.(type) {
	case *schema.Encoded:
		if t.Presence == schema.Constant {
			return nil
		}
		if t.Length != 1 {
			if t.Primitive == schema.Char || t.Primitive == schema.Uint8 {
				if s, ok := val.(string); ok {
					out, err := call(v, "Set"+m+"String", reflect.ValueOf(s))
					if err != nil {
						return err
					}
					return errOf(out)
				}
				if _, isHex := val.(map[string]any); isHex {
					b, err := bytesOf(val)
					if err != nil {
						return err
					}
					out, err := call(v, "Set"+m, reflect.ValueOf(b))
					if err != nil {
						return err
					}
					return errOf(out)
				}
			}
			list, ok := val.([]any)
			if !ok {
				return fmt.Errorf("array value is %T", val)
			}
			meth := v.MethodByName("Set" + m)
			if !meth.IsValid() {
				return fmt.Errorf("no setter Set%s", m)
			}
			pt := meth.Type().In(0)
			if pt.Kind() == reflect.Slice {
				b := make([]byte, len(list))
				for i, x := range list {
					s, err := number(x)
					if err != nil {
						return err
					}
					n, err := strconv.ParseUint(s, 10, 8)
					if err != nil {
						return err
					}
					b[i] = byte(n)
				}
				return errOf(meth.Call([]reflect.Value{reflect.ValueOf(b)}))
			}
			arr := reflect.New(pt).Elem()
			if len(list) > arr.Len() {
				return fmt.Errorf("%d values for an array of %d", len(list), arr.Len())
			}
			for i, x := range list {
				ev, err := scalarValue(pt.Elem(), x)
				if err != nil {
					return err
				}
				arr.Index(i).Set(ev)
			}
			meth.Call([]reflect.Value{arr})
			return nil
		}
	case *schema.Composite:
		out, err := call(v, m)
		if err != nil {
			return err
		}
		obj, ok := val.(map[string]any)
		if !ok {
			return fmt.Errorf("composite value is %T", val)
		}
		for _, mem := range t.Members {
			mv, ok := obj[mem.Name]
			if !ok {
				continue
			}
			pres := schema.Required
			if e, ok := mem.Type.(*schema.Encoded); ok {
				pres = e.Presence
			}
			if err := encodeField(out[0], mem.Name, mem.Type, pres, mv); err != nil {
				return fmt.Errorf("member %s: %w", mem.Name, err)
			}
		}
		return nil
	case *schema.Set:
		var err error
		if val, err = setChoices(t, val); err != nil {
			return err
		}
	}
	meth := v.MethodByName("Set" + m)
	if !meth.IsValid() {
		return fmt.Errorf("no setter Set%s on %s", m, v.Type())
	}
	arg, err := scalarValue(meth.Type().In(0), val)
	if err != nil {
		return err
	}
	meth.Call([]reflect.Value{arg})
	return nil
}

// Check compares what the decoder dec (a pointer to a wrapped generated
// decoder) reads for message m against values, returning one line per
// difference. Fields missing from values are not checked.
func Check(dec any, m *schema.Message, values map[string]any) []string {
	var diffs []string
	checkLevel(reflect.ValueOf(dec), m.Fields, m.Groups, m.Data, values, m.Name, &diffs)
	return diffs
}

func checkLevel(v reflect.Value, fields []*schema.Field, groups []*schema.Group, data []*schema.Data, values map[string]any, path string, diffs *[]string) {
	for _, f := range fields {
		val, ok := values[f.Name]
		if !ok {
			continue
		}
		checkField(v, f.Name, f.Type, val, path+"."+f.Name, diffs)
	}
	for _, g := range groups {
		val, ok := values[g.Name]
		if !ok {
			continue
		}
		list, _ := val.([]any)
		out, err := call(v, exported(g.Name))
		if err != nil {
			*diffs = append(*diffs, err.Error())
			continue
		}
		gd := out[0]
		if n := int(gd.MethodByName("Count").Call(nil)[0].Int()); n != len(list) {
			*diffs = append(*diffs, fmt.Sprintf("%s.%s: count %d, want %d", path, g.Name, n, len(list)))
			continue
		}
		for i, e := range list {
			if !gd.MethodByName("Next").Call(nil)[0].Bool() {
				*diffs = append(*diffs, fmt.Sprintf("%s.%s[%d]: Next false", path, g.Name, i))
				break
			}
			entry, _ := e.(map[string]any)
			checkLevel(gd, g.Fields, g.Groups, g.Data, entry, fmt.Sprintf("%s.%s[%d]", path, g.Name, i), diffs)
		}
		if gd.MethodByName("Next").Call(nil)[0].Bool() {
			*diffs = append(*diffs, fmt.Sprintf("%s.%s: more entries than %d", path, g.Name, len(list)))
		}
	}
	for _, d := range data {
		val, ok := values[d.Name]
		if !ok {
			continue
		}
		want, err := bytesOf(val)
		if err != nil {
			*diffs = append(*diffs, err.Error())
			continue
		}
		out, err := call(v, exported(d.Name))
		if err != nil {
			*diffs = append(*diffs, err.Error())
			continue
		}
		if got := out[0].Bytes(); string(got) != string(want) {
			*diffs = append(*diffs, fmt.Sprintf("%s.%s: %q, want %q", path, d.Name, got, want))
		}
	}
}

func checkField(v reflect.Value, name string, t schema.Type, val any, path string, diffs *[]string) {
	out, err := call(v, exported(name))
	if err != nil {
		*diffs = append(*diffs, err.Error())
		return
	}
	got := out[0]
	switch t := t.(type) {
	case *schema.Composite:
		obj, _ := val.(map[string]any)
		for _, mem := range t.Members {
			if mv, ok := obj[mem.Name]; ok {
				checkField(got, mem.Name, mem.Type, mv, path+"."+mem.Name, diffs)
			}
		}
		return
	case *schema.Set:
		var err error
		if val, err = setChoices(t, val); err != nil {
			*diffs = append(*diffs, err.Error())
			return
		}
	case *schema.Encoded:
		if t.Length != 1 && got.Kind() != reflect.String {
			if got.Kind() == reflect.Slice && got.Type().Elem().Kind() == reflect.Uint8 {
				if _, isList := val.([]any); !isList {
					want, err := bytesOf(val)
					if err != nil {
						*diffs = append(*diffs, path+": "+err.Error())
						return
					}
					g := got.Bytes()
					if t.Primitive == schema.Char {
						g = sbe.TrimNUL(g)
					}
					if string(g) != string(want) {
						*diffs = append(*diffs, fmt.Sprintf("%s: %q, want %q", path, g, want))
					}
					return
				}
			}
			list, _ := val.([]any)
			if got.Len() < len(list) {
				*diffs = append(*diffs, fmt.Sprintf("%s: %d elements, want %d", path, got.Len(), len(list)))
				return
			}
			for i, x := range list {
				compareScalar(got.Index(i), x, fmt.Sprintf("%s[%d]", path, i), diffs)
			}
			return
		}
	}
	if got.Kind() == reflect.String {
		if s, ok := val.(string); !ok || s != got.String() {
			*diffs = append(*diffs, fmt.Sprintf("%s: %q, want %v", path, got.String(), val))
		}
		return
	}
	compareScalar(got, val, path, diffs)
}

func compareScalar(got reflect.Value, val any, path string, diffs *[]string) {
	want, err := number(val)
	if err != nil {
		*diffs = append(*diffs, path+": "+err.Error())
		return
	}
	var g string
	switch got.Kind() {
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Int:
		g = strconv.FormatInt(got.Int(), 10)
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uint:
		g = strconv.FormatUint(got.Uint(), 10)
	case reflect.Float32:
		w, _ := strconv.ParseFloat(want, 64)
		if float32(w) != float32(got.Float()) && !(math.IsNaN(w) && math.IsNaN(got.Float())) {
			*diffs = append(*diffs, fmt.Sprintf("%s: %v, want %v", path, got.Float(), w))
		}
		return
	case reflect.Float64:
		w, _ := strconv.ParseFloat(want, 64)
		if w != got.Float() && !(math.IsNaN(w) && math.IsNaN(got.Float())) {
			*diffs = append(*diffs, fmt.Sprintf("%s: %v, want %v", path, got.Float(), w))
		}
		return
	default:
		*diffs = append(*diffs, fmt.Sprintf("%s: cannot compare %s", path, got.Kind()))
		return
	}
	if g != want {
		*diffs = append(*diffs, fmt.Sprintf("%s: %s, want %s", path, g, want))
	}
}

// Populate returns deterministic, valid, non-null values for every field,
// group entry (two per group) and var data of message m, in the form Encode
// and Check take. seed varies the values.
func Populate(m *schema.Message, seed int) map[string]any {
	p := &populator{n: seed}
	return p.level(m.Fields, m.Groups, m.Data)
}

type populator struct{ n int }

func (p *populator) next() int { p.n++; return p.n }

func (p *populator) level(fields []*schema.Field, groups []*schema.Group, data []*schema.Data) map[string]any {
	out := map[string]any{}
	for _, f := range fields {
		if f.Presence == schema.Constant {
			continue
		}
		if v, ok := p.value(f.Type, f.Presence, f.Null); ok {
			out[f.Name] = v
		}
	}
	for _, g := range groups {
		var entries []any
		for i := 0; i < 2; i++ {
			entries = append(entries, p.level(g.Fields, g.Groups, g.Data))
		}
		out[g.Name] = entries
	}
	for _, d := range data {
		n := p.next()
		s := fmt.Sprintf("%s-%d", d.Name, n)
		if max := d.MaxLength(); uint64(len(s)) > max {
			s = s[:max]
		}
		out[d.Name] = s
	}
	return out
}

func (p *populator) scalar(prim schema.Primitive, null schema.Value, min, max schema.Value) any {
	n := p.next()
	switch {
	case prim == schema.Char:
		return json.Number(strconv.Itoa('a' + n%26))
	case prim.IsFloat():
		return json.Number(strconv.FormatFloat(float64(n)+0.5, 'g', -1, 64))
	case prim.IsSigned():
		lo, hi := min.I, max.I
		v := lo + int64(n)%(hi-lo+1)
		if v == null.I {
			v++
		}
		return json.Number(strconv.FormatInt(v, 10))
	default:
		lo, hi := min.U, max.U
		span := hi - lo + 1
		v := lo
		if span != 0 {
			v = lo + uint64(n)%span
		}
		if v == null.U {
			v = lo
		}
		return json.Number(strconv.FormatUint(v, 10))
	}
}

func (p *populator) value(t schema.Type, presence schema.Presence, null schema.Value) (any, bool) {
	switch t := t.(type) {
	case *schema.Encoded:
		if t.Presence == schema.Constant {
			return nil, false
		}
		if t.Length == 1 {
			if presence != schema.Optional {
				null = t.Null
			}
			return p.scalar(t.Primitive, null, t.Min, t.Max), true
		}
		if t.Primitive == schema.Char {
			n := p.next()
			s := fmt.Sprintf("c%d", n)
			if len(s) > t.Length {
				s = s[:t.Length]
			}
			return s, true
		}
		var list []any
		for i := 0; i < t.Length; i++ {
			list = append(list, p.scalar(t.Primitive, t.Null, t.Min, t.Max))
		}
		return list, true
	case *schema.Enum:
		if len(t.Values) == 0 {
			return nil, false
		}
		v := t.Values[p.next()%len(t.Values)]
		if t.Encoding.IsSigned() {
			return json.Number(strconv.FormatInt(v.Value.I, 10)), true
		}
		return json.Number(strconv.FormatUint(v.Value.U, 10)), true
	case *schema.Set:
		var names []any
		for i, c := range t.Choices {
			if (p.next()+i)%2 == 0 {
				names = append(names, c.Name)
			}
		}
		return names, true
	case *schema.Composite:
		obj := map[string]any{}
		for _, m := range t.Members {
			pres := schema.Required
			nv := schema.Value{}
			if e, ok := m.Type.(*schema.Encoded); ok {
				pres, nv = e.Presence, e.Null
				if e.Length == 0 {
					continue // a var-data composite's varData member
				}
			}
			if v, ok := p.value(m.Type, pres, nv); ok {
				obj[m.Name] = v
			}
		}
		return obj, true
	}
	return nil, false
}
