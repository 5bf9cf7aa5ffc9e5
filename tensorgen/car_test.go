package tensorgen_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tpool-go/tpool/internal/codectest"
	"github.com/tpool-go/tpool/runtime/sbe"
	"github.com/tpool-go/tpool/tensorgen/internal/testschemas/example"
	"github.com/tpool-go/tpool/tensorgen/internal/testschemas/examplebigendiantest"
	"github.com/tpool-go/tpool/tensorgen/schema"
)

const sbeVectors = "../../shared/vectors/sbe"

func readVector(t *testing.T, name string) []byte {
	t.Helper()
	path := filepath.Join(sbeVectors, name)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("%s not present: the shared SBE vectors live in ../shared beside the repository (see README)", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parseSchema(t *testing.T, name string) *schema.Schema {
	t.Helper()
	path := filepath.Join(sbeVectors, "schemas", name)
	s, err := schema.ParseFile(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("%s not present: the shared SBE test schemas live in ../shared beside the repository (see README)", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// carValues are the documented values of the SBE Car example, in the
// schema's own names.
func carValues(someNumbers ...int) map[string]any {
	nums := make([]any, len(someNumbers))
	for i, n := range someNumbers {
		nums[i] = n
	}
	accel := func(pairs ...float64) []any {
		var out []any
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, map[string]any{"mph": int(pairs[i]), "seconds": pairs[i+1]})
		}
		return out
	}
	return map[string]any{
		"serialNumber": 1234, "modelYear": 2013, "available": 1, "code": "A",
		"someNumbers": nums, "vehicleCode": "abcdef",
		"extras":          []any{"sportsPack", "cruiseControl"}, // 6, as the golden file has
		"discountedModel": "C",
		"engine": map[string]any{
			"capacity": 2000, "numCylinders": 4, "manufacturerCode": "123", "efficiency": 35,
			"boosterEnabled": 1, "booster": map[string]any{"BoostType": "N", "horsePower": 200},
		},
		"fuelFigures": []any{
			map[string]any{"speed": 30, "mpg": 35.9, "usageDescription": "Urban Cycle"},
			map[string]any{"speed": 55, "mpg": 49.0, "usageDescription": "Combined Cycle"},
			map[string]any{"speed": 75, "mpg": 40.0, "usageDescription": "Highway Cycle"},
		},
		"performanceFigures": []any{
			map[string]any{"octaneRating": 95, "acceleration": accel(30, 4.0, 60, 7.5, 100, 12.2)},
			map[string]any{"octaneRating": 99, "acceleration": accel(30, 3.8, 60, 7.1, 100, 11.8)},
		},
		"manufacturer": "Honda", "model": "Civic VTi", "activationCode": "abcdef",
	}
}

// TestCarGolden encodes the documented Car values with the generated codecs
// of the little- and big-endian example schemas and compares the bytes with
// the SBE project's golden files, then decodes the files back.
func TestCarGolden(t *testing.T) {
	tests := []struct {
		name, schema, golden string
		values               map[string]any
		newEnc               func() codecEncoder
		dispatch             func([]byte) (codecDecoder, error)
	}{
		{"littleEndian", "example-schema.xml", "car_example_baseline_data.sbe", carValues(1, 2, 3, 4),
			func() codecEncoder { return new(example.CarEncoder) },
			func(b []byte) (codecDecoder, error) { var d example.Dispatcher; return d.Decode(b) }},
		{"bigEndian", "example-bigendian-test-schema.xml", "car_example_bigendian_data.sbe", carValues(0, 1, 2, 3, 4),
			func() codecEncoder { return new(examplebigendiantest.CarEncoder) },
			func(b []byte) (codecDecoder, error) { var d examplebigendiantest.Dispatcher; return d.Decode(b) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			golden := readVector(t, tt.golden)
			s := parseSchema(t, tt.schema)
			car := s.Messages[0]
			values := roundTripJSON(tt.values)
			buf := make([]byte, 512)
			e := tt.newEnc()
			if err := e.WrapWithHeader(buf); err != nil {
				t.Fatal(err)
			}
			n, err := codectest.Encode(e, car, values)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf[:n], golden) {
				t.Fatalf("encoded %d bytes, golden %d:\n got %x\nwant %x", n, len(golden), buf[:n], golden)
			}
			d, err := tt.dispatch(golden)
			if err != nil {
				t.Fatal(err)
			}
			if d.EncodedLength() != len(golden) {
				t.Errorf("EncodedLength %d, want %d", d.EncodedLength(), len(golden))
			}
			for _, diff := range codectest.Check(d, car, values) {
				t.Error(diff)
			}
		})
	}
}

type codecEncoder interface {
	WrapWithHeader([]byte) error
}

type codecDecoder interface {
	EncodedLength() int
}

// roundTripJSON gives the values the shapes encoding/json produces, as
// the vector files have.
func roundTripJSON(v map[string]any) map[string]any {
	raw, _ := json.Marshal(v)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return out
}

// TestCarAPI shows the generated API on the little-endian Car and checks
// it against the golden bytes.
func TestCarAPI(t *testing.T) {
	golden := readVector(t, "car_example_baseline_data.sbe")
	buf := make([]byte, 256)
	var e example.CarEncoder
	if err := e.WrapWithHeader(buf); err != nil {
		t.Fatal(err)
	}
	e.SetSerialNumber(1234)
	e.SetModelYear(2013)
	e.SetAvailable(example.BooleanTypeT)
	e.SetCode(example.ModelA)
	e.SetSomeNumbers([4]uint32{1, 2, 3, 4})
	if err := e.SetVehicleCodeString("abcdef"); err != nil {
		t.Fatal(err)
	}
	e.SetExtras(example.OptionalExtrasSportsPack | example.OptionalExtrasCruiseControl)
	eng := e.Engine()
	eng.SetCapacity(2000)
	eng.SetNumCylinders(4)
	if err := eng.SetManufacturerCodeString("123"); err != nil {
		t.Fatal(err)
	}
	eng.SetEfficiency(35)
	eng.SetBoosterEnabled(example.BooleanTypeT)
	eng.Booster().SetBoostType(example.BoostTypeNitrous)
	eng.Booster().SetHorsePower(200)
	fuel, err := e.FuelFigures(3)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		speed uint16
		mpg   float32
		desc  string
	}{{30, 35.9, "Urban Cycle"}, {55, 49.0, "Combined Cycle"}, {75, 40.0, "Highway Cycle"}} {
		if err := fuel.Next(); err != nil {
			t.Fatal(err)
		}
		fuel.SetSpeed(f.speed)
		fuel.SetMpg(f.mpg)
		if err := fuel.SetUsageDescriptionString(f.desc); err != nil {
			t.Fatal(err)
		}
	}
	perf, err := e.PerformanceFigures(2)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		octane uint8
		accel  [3][2]float32
	}{{95, [3][2]float32{{30, 4.0}, {60, 7.5}, {100, 12.2}}}, {99, [3][2]float32{{30, 3.8}, {60, 7.1}, {100, 11.8}}}} {
		if err := perf.Next(); err != nil {
			t.Fatal(err)
		}
		perf.SetOctaneRating(p.octane)
		acc, err := perf.Acceleration(len(p.accel))
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range p.accel {
			if err := acc.Next(); err != nil {
				t.Fatal(err)
			}
			acc.SetMph(uint16(a[0]))
			acc.SetSeconds(a[1])
		}
	}
	for _, err := range []error{e.SetManufacturerString("Honda"), e.SetModelString("Civic VTi"), e.SetActivationCodeString("abcdef")} {
		if err != nil {
			t.Fatal(err)
		}
	}
	n, err := e.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf[:n], golden) {
		t.Fatalf("encoded bytes differ from the golden file:\n got %x\nwant %x", buf[:n], golden)
	}

	var d example.CarDecoder
	if err := d.WrapWithHeader(golden); err != nil {
		t.Fatal(err)
	}
	// Var data may be read before the groups: the decoder has the layout.
	if got := string(d.Model()); got != "Civic VTi" {
		t.Errorf("Model = %q", got)
	}
	type accel struct {
		Mph     uint16
		Seconds float32
	}
	var got [][]accel
	for pf := d.PerformanceFigures(); pf.Next(); {
		var row []accel
		for a := pf.Acceleration(); a.Next(); {
			row = append(row, accel{a.Mph(), a.Seconds()})
		}
		got = append(got, row)
	}
	want := [][]accel{{{30, 4.0}, {60, 7.5}, {100, 12.2}}, {{30, 3.8}, {60, 7.1}, {100, 11.8}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("acceleration (-want +got):\n%s", diff)
	}
	if d.DiscountedModel() != example.ModelC || d.Engine().MaxRpm() != 9000 || d.Engine().Fuel() != "Petrol" {
		t.Errorf("constants: %v %v %q", d.DiscountedModel(), d.Engine().MaxRpm(), d.Engine().Fuel())
	}
	if d.VehicleCodeString() != "abcdef" || !d.Extras().CruiseControl() || d.Extras().SunRoof() {
		t.Errorf("vehicle code %q extras %v", d.VehicleCodeString(), d.Extras())
	}
	wantJSON := `{"serialNumber":1234,"modelYear":2013,"available":"T","code":"A","someNumbers":[1,2,3,4],"vehicleCode":"abcdef","extras":["sportsPack","cruiseControl"],"discountedModel":"C","engine":{"capacity":2000,"numCylinders":4,"maxRpm":9000,"manufacturerCode":"123","fuel":"Petrol","efficiency":35,"boosterEnabled":"T","booster":{"BoostType":"NITROUS","horsePower":200}},"fuelFigures":[{"speed":30,"mpg":35.9,"usageDescription":"Urban Cycle"},{"speed":55,"mpg":49,"usageDescription":"Combined Cycle"},{"speed":75,"mpg":40,"usageDescription":"Highway Cycle"}],"performanceFigures":[{"octaneRating":95,"acceleration":[{"mph":30,"seconds":4},{"mph":60,"seconds":7.5},{"mph":100,"seconds":12.2}]},{"octaneRating":99,"acceleration":[{"mph":30,"seconds":3.8},{"mph":60,"seconds":7.1},{"mph":100,"seconds":11.8}]}],"manufacturer":"Honda","model":"Civic VTi","activationCode":"abcdef"}`
	if diff := cmp.Diff(wantJSON, d.String()); diff != "" {
		t.Errorf("String (-want +got):\n%s", diff)
	}

	// Every truncation of the message is an error, never a panic.
	for i := 0; i < len(golden); i++ {
		var d example.CarDecoder
		if err := d.WrapWithHeader(golden[:i]); !errors.Is(err, sbe.ErrShortBuffer) {
			t.Fatalf("truncated to %d bytes: err = %v, want ErrShortBuffer", i, err)
		}
	}
	// Every encoder buffer that is too small is an error.
	for size := 0; size < len(golden); size++ {
		if encodeCarInto(make([]byte, size)) == nil {
			t.Fatalf("encoding into %d bytes succeeded", size)
		}
	}
}

func encodeCarInto(buf []byte) error {
	var e example.CarEncoder
	if err := e.WrapWithHeader(buf); err != nil {
		return err
	}
	if err := e.SetVehicleCodeString("abcdef"); err != nil {
		return err
	}
	fuel, err := e.FuelFigures(3)
	if err != nil {
		return err
	}
	for i := 0; i < 3; i++ {
		if err := fuel.Next(); err != nil {
			return err
		}
		if err := fuel.SetUsageDescriptionString("Combined Cycle"); err != nil {
			return err
		}
	}
	perf, err := e.PerformanceFigures(2)
	if err != nil {
		return err
	}
	for i := 0; i < 2; i++ {
		if err := perf.Next(); err != nil {
			return err
		}
		acc, err := perf.Acceleration(3)
		if err != nil {
			return err
		}
		for j := 0; j < 3; j++ {
			if err := acc.Next(); err != nil {
				return err
			}
		}
	}
	if err := e.SetManufacturerString("Honda"); err != nil {
		return err
	}
	if err := e.SetModelString("Civic VTi"); err != nil {
		return err
	}
	if err := e.SetActivationCodeString("abcdef"); err != nil {
		return err
	}
	_, err = e.Finish()
	return err
}
