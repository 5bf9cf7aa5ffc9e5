package driverclient

import "time"

// minKeepalivePeriod floors the keepalive period a very short granted
// lease would give, so a bogus expiry cannot make the client flood the
// control stream.
const minKeepalivePeriod = int64(time.Millisecond)

// keepalivePeriod is how often a lease granted at now sends
// ShmLeaseKeepalive: Config.KeepaliveInterval, or a quarter of the granted
// lease interval (leaseExpiryTimestampNs - now) when that is shorter, so
// that three keepalives in a row may be lost or late before the lease
// expires (Driver Model 4.4: keepalives must arrive before the expiry).
// tpoold grants keepalive interval x expiry grace (3 s by default): the
// client then sends every 750 ms.
func (c *Client) keepalivePeriod(info *LeaseInfo, now int64) int64 {
	p := int64(c.cfg.KeepaliveInterval)
	if info.ExpiryNs == 0 || int64(info.ExpiryNs) <= now {
		return p // no expiry granted (or one already past: the keepalive goes at once anyway)
	}
	if q := (int64(info.ExpiryNs) - now) / 4; q < p {
		p = max(q, minKeepalivePeriod)
	}
	return p
}
