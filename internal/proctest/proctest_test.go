package proctest

import "testing"

func TestParse(t *testing.T) {
	tests := []struct {
		line string
		verb string
		args []int64
	}{
		{"run 10000 42 1", "run", []int64{10000, 42, 1}},
		{"  attach  7 ", "attach", []int64{7}},
		{"stop", "stop", nil},
		{"neg -5 3", "neg", []int64{-5, 3}},
		{"many 1 2 3 4 5 6", "many", []int64{1, 2, 3, 4}},
		{"", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			c := parse([]byte(tt.line))
			if !c.Is(tt.verb) || c.Verb() != tt.verb {
				t.Errorf("verb %q, want %q", c.Verb(), tt.verb)
			}
			for i, a := range tt.args {
				if c.Arg(i) != a {
					t.Errorf("arg %d = %d, want %d", i, c.Arg(i), a)
				}
			}
			if c.Arg(len(tt.args)) != 0 {
				t.Errorf("arg %d present", len(tt.args))
			}
		})
	}
}

func TestParseDoesNotAllocate(t *testing.T) {
	line := []byte("run 10000 42 1")
	if n := testing.AllocsPerRun(100, func() { _ = parse(line) }); n != 0 {
		t.Errorf("%v allocations per parse", n)
	}
}
