package pool

import "fmt"

// The claims a Producer has open: by default one (a new claim abandons
// the previous one), up to the header ring's nslots with SetMaxClaims, for
// devices that fill several slots at once (DMA rings). Open claims are
// kept oldest first; a claim whose slot the ring reaches again, or the
// oldest when a new claim would exceed the limit, is abandoned: its slot
// stays in progress, so consumers never accept it, and Commit of it
// returns ErrNotClaimed.
type claimQueue struct {
	open []Claim // oldest first; cap is the limit
}

func newClaimQueue(max int) claimQueue { return claimQueue{open: make([]Claim, 0, max)} }

func (q *claimQueue) find(seq uint64) int {
	for i := range q.open {
		if q.open[i].Seq == seq {
			return i
		}
	}
	return -1
}

func (q *claimQueue) remove(i int) {
	copy(q.open[i:], q.open[i+1:])
	q.open = q.open[:len(q.open)-1]
}

// makeRoom abandons what a claim of seq would otherwise overlap or
// exceed, returning how many claims it abandoned.
func (q *claimQueue) makeRoom(seq, nslots uint64) (n uint64) {
	for len(q.open) > 0 && (len(q.open) == cap(q.open) || q.open[0].Seq+nslots <= seq) {
		q.remove(0)
		n++
	}
	return n
}

// SetMaxClaims sets how many claims may be open at once, from 1 (the
// default) to the header ring's nslots. Lowering it abandons the oldest
// open claims beyond the new limit.
func (p *Producer) SetMaxClaims(n int) error {
	if n < 1 || uint64(n) > p.ring.mask+1 {
		return fmt.Errorf("max claims %d not in [1, nslots %d]: %w", n, p.ring.mask+1, ErrLayout)
	}
	q := newClaimQueue(n)
	for len(p.claims.open) > n {
		p.claims.remove(0)
		p.stats.Abandoned++
	}
	q.open = append(q.open, p.claims.open...)
	p.claims = q
	return nil
}

// MaxClaims returns the limit of open claims.
func (p *Producer) MaxClaims() int { return cap(p.claims.open) }

// OpenClaims returns the number of claims open.
func (p *Producer) OpenClaims() int { return len(p.claims.open) }

// Abandon gives up an open claim: its slot stays in progress (consumers
// drop it) and its sequence is not reused. It returns ErrNotClaimed if c
// is not open.
func (p *Producer) Abandon(c *Claim) error {
	i := -1
	if c != nil {
		i = p.claims.find(c.Seq)
	}
	if i < 0 {
		return ErrNotClaimed
	}
	p.claims.remove(i)
	p.stats.Abandoned++
	return nil
}

// Open reports whether c is an open claim (not committed or abandoned).
func (p *Producer) Open(c *Claim) bool { return c != nil && p.claims.find(c.Seq) >= 0 }

// OldestOpen returns the sequence of the oldest open claim, if any.
func (p *Producer) OldestOpen() (uint64, bool) {
	if len(p.claims.open) == 0 {
		return 0, false
	}
	return p.claims.open[0].Seq, true
}
