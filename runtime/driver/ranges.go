package driver

import "sync"

// RangeAllocator hands out stream ids from an inclusive range (Driver
// Model section 11): dynamic stream ids, and the per-consumer descriptor
// and control stream ids a ConsumerHello with stream id 0 asks for
// ([Driver.DescriptorStreamIDs], [Driver.ControlStreamIDs]). It is safe for
// concurrent use. Ids are handed out round-robin, so a released id is not
// reused before the rest of the range was.
type RangeAllocator struct {
	r    StreamRange
	mu   sync.Mutex
	used map[uint32]bool
	next uint32
}

// NewRangeAllocator returns an allocator over r; an unset or empty range
// allocates nothing.
func NewRangeAllocator(r StreamRange) *RangeAllocator {
	return &RangeAllocator{r: r, used: map[uint32]bool{}, next: r.First}
}

// Range returns the allocator's range.
func (a *RangeAllocator) Range() StreamRange { return a.r }

// Contains reports whether id is in the range.
func (a *RangeAllocator) Contains(id uint32) bool { return a.r.Len() > 0 && a.r.Contains(id) }

// Allocate returns a free id and marks it used; ok is false when the range
// is unset, empty or exhausted (section 11: decline the request).
func (a *RangeAllocator) Allocate() (id uint32, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := a.r.Len()
	for i := uint64(0); i < n; i++ {
		id := a.next
		if a.next == a.r.Last {
			a.next = a.r.First
		} else {
			a.next++
		}
		if !a.used[id] {
			a.used[id] = true
			return id, true
		}
	}
	return 0, false
}

// Reserve marks a specific id used; false if it is outside the range or
// already used.
func (a *RangeAllocator) Reserve(id uint32) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.Contains(id) || a.used[id] {
		return false
	}
	a.used[id] = true
	return true
}

// Release frees an id; releasing a free id does nothing.
func (a *RangeAllocator) Release(id uint32) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.used, id)
}

// InUse returns how many ids are allocated.
func (a *RangeAllocator) InUse() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.used)
}
