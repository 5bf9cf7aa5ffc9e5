package driverclient

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/tpool-go/tpool/gen/driver"
	"github.com/tpool-go/tpool/gen/wire"
	"github.com/tpool-go/tpool/runtime/pool"
)

// maxErrorMessage is the longest errorMessage kept (section 4.2).
const maxErrorMessage = 1024

func errorMessage(b []byte) string {
	if len(b) > maxErrorMessage {
		b = b[:maxErrorMessage]
	}
	return string(b)
}

func protoErr(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, ErrProtocol)...)
}

// parseOK turns an OK ShmAttachResponse into a LeaseInfo, applying every
// client-side rule of section 4.2: required fields non-null, header slot
// bytes 256, at least one pool, each pool's nslots equal to the header's,
// and URIs that are valid shm:file URIs inside the allowed directories.
func (c *Client) parseOK(d *driver.ShmAttachResponseDecoder, req *AttachRequest, clientID uint32) (*LeaseInfo, error) {
	switch {
	case d.LeaseIdIsNull(), d.StreamIdIsNull(), d.EpochIsNull(), d.LayoutVersionIsNull(),
		d.HeaderNslotsIsNull(), d.HeaderSlotBytesIsNull():
		return nil, protoErr("OK response with a required field null")
	case d.HeaderSlotBytes() != pool.HeaderSlotBytes:
		return nil, protoErr("headerSlotBytes %d, not %d", d.HeaderSlotBytes(), pool.HeaderSlotBytes)
	case d.HeaderNslots() == 0:
		return nil, protoErr("headerNslots 0")
	case d.StreamId() != req.StreamID:
		return nil, protoErr("OK response for stream %d, asked for %d", d.StreamId(), req.StreamID)
	}
	info := &LeaseInfo{
		LeaseID: d.LeaseId(), StreamID: d.StreamId(), ClientID: clientID, Role: req.Role,
		Epoch: d.Epoch(), LayoutVersion: d.LayoutVersion(), HeaderNslots: d.HeaderNslots(),
		HeaderSlotBytes: uint32(d.HeaderSlotBytes()),
	}
	if !d.NodeIdIsNull() {
		info.NodeID, info.HasNodeID = d.NodeId(), true
	}
	if !d.LeaseExpiryTimestampNsIsNull() {
		info.ExpiryNs = d.LeaseExpiryTimestampNs()
	}
	if err := c.readPools(d.PayloadPools(), info, "OK response"); err != nil {
		return nil, err
	}
	info.HeaderURI = string(d.HeaderRegionUri())
	if err := c.checkURI(info.HeaderURI); err != nil {
		return nil, err
	}
	return info, nil
}

// parseAnnounce makes the LeaseInfo of a new epoch from a ShmPoolAnnounce,
// keeping the lease's identity from old.
func (c *Client) parseAnnounce(d *wire.ShmPoolAnnounceDecoder, old *LeaseInfo) (*LeaseInfo, error) {
	switch {
	case d.HeaderSlotBytes() != pool.HeaderSlotBytes:
		return nil, protoErr("announce headerSlotBytes %d, not %d", d.HeaderSlotBytes(), pool.HeaderSlotBytes)
	case d.HeaderNslots() == 0 || d.HeaderNslots() == nullU32:
		return nil, protoErr("announce headerNslots %d", d.HeaderNslots())
	}
	info := *old
	info.Epoch, info.LayoutVersion, info.HeaderNslots = d.Epoch(), d.LayoutVersion(), d.HeaderNslots()
	info.HeaderSlotBytes = uint32(d.HeaderSlotBytes())
	info.ProducerID = d.ProducerId()
	info.Pools = nil
	if err := c.readPools(d.PayloadPools(), &info, "announce"); err != nil {
		return nil, err
	}
	info.HeaderURI = string(d.HeaderRegionUri())
	if err := c.checkURI(info.HeaderURI); err != nil {
		return nil, err
	}
	return &info, nil
}

// poolsDecoder is the payloadPools group decoder, generated once for
// ShmAttachResponse (driver schema) and once for ShmPoolAnnounce (wire).
type poolsDecoder interface {
	Next() bool
	PoolId() uint16
	PoolNslots() uint32
	StrideBytes() uint32
	RegionUri() []byte
}

// readPools appends the checked pools of g to info.Pools; what names the
// message in the error for a response or announce without any.
func (c *Client) readPools(g poolsDecoder, info *LeaseInfo, what string) error {
	for g.Next() {
		p := LeasePool{ID: g.PoolId(), NSlots: g.PoolNslots(), StrideBytes: g.StrideBytes(), URI: string(g.RegionUri())}
		if err := c.checkPool(p, info.HeaderNslots); err != nil {
			return err
		}
		info.Pools = append(info.Pools, p)
	}
	if len(info.Pools) == 0 {
		return protoErr("%s without payload pools", what)
	}
	return nil
}

func (c *Client) checkPool(p LeasePool, nslots uint32) error {
	if p.NSlots != nslots {
		return protoErr("pool %d has %d slots, the header ring %d", p.ID, p.NSlots, nslots)
	}
	if p.StrideBytes == 0 || p.StrideBytes == nullU32 || p.StrideBytes%pool.StrideAlign != 0 {
		return protoErr("pool %d stride %d", p.ID, p.StrideBytes)
	}
	return c.checkURI(p.URI)
}

// checkURI validates a region URI (wire spec 15.22) and that its path lies
// inside an allowed base directory, lexically or through the canonical form
// of an allowed directory. The full check (canonical path, file type,
// no symlinks, modes) happens when the region is opened (pool.AllowList.Open).
func (c *Client) checkURI(s string) error {
	if strings.TrimSpace(s) == "" {
		return protoErr("empty region URI")
	}
	u, err := pool.ParseURI(s)
	if err != nil {
		return protoErr("%v", err)
	}
	p := filepath.Clean(u.Path)
	for _, d := range c.allowedDirs() {
		if strings.HasPrefix(p, d+"/") || (d == "/" && len(p) > 1) {
			return nil
		}
	}
	return protoErr("region %s is outside the allowed directories %v", u.Path, c.cfg.AllowedBaseDirs)
}

// allowedDirs returns the allowed directories, cleaned, and their canonical
// forms once they exist.
func (c *Client) allowedDirs() []string {
	if c.canonDone {
		return c.dirs
	}
	c.dirs = c.dirs[:0]
	all := true
	for _, d := range c.cfg.AllowedBaseDirs {
		d = filepath.Clean(d)
		c.dirs = append(c.dirs, d)
		if cd, err := filepath.EvalSymlinks(d); err == nil {
			if cd != d {
				c.dirs = append(c.dirs, filepath.Clean(cd))
			}
		} else {
			all = false
		}
	}
	c.canonDone = all
	return c.dirs
}

// AllowList returns the allow list to open this client's regions with
// (pool.Attach, pool.OpenRegion). It is built on first success: the
// directories must exist by then (the driver creates them).
func (c *Client) AllowList() (*pool.AllowList, error) {
	c.allowMu.Lock()
	defer c.allowMu.Unlock()
	if c.allow != nil {
		return c.allow, nil
	}
	a, err := pool.NewAllowList(c.cfg.AllowedBaseDirs...)
	if err != nil {
		return nil, err
	}
	c.allow = a
	return a, nil
}
