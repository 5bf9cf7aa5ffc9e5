package points

import "math"

// Scan fills a claimed cloud of n points with scan k: a spiral whose
// radius grows with k, so a consumer can check what it got.
func Scan(v CloudView, k int) {
	n := v.Shape()[0]
	for i := range int(n) {
		a := float64(i) * 0.1
		r := float32(k + 1)
		p := v.Row(i) // x, y, z of point i
		p[0] = r * float32(math.Cos(a))
		p[1] = r * float32(math.Sin(a))
		p[2] = float32(i)
	}
}

// Points returns how many points scan k has: from 1 up to the bound,
// varying from scan to scan.
func Points(k int) int { return 1 + (k*997)%65536 }

// Centroid returns the mean of a cloud's points.
func Centroid(v CloudView) (x, y, z float32) {
	n := int(v.Shape()[0])
	if n == 0 {
		return 0, 0, 0
	}
	var sx, sy, sz float64
	d := v.Data()
	for i := 0; i+2 < len(d); i += 3 {
		sx += float64(d[i])
		sy += float64(d[i+1])
		sz += float64(d[i+2])
	}
	return float32(sx / float64(n)), float32(sy / float64(n)), float32(sz / float64(n))
}
