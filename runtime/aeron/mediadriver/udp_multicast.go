package mediadriver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Multicast (endpoint= a group in 224.0.0.0/4 or ff00::/8), as Aeron's
// aeron_udp_channel.c and aeron_udp_channel_transport.c: data and setups
// go to the data group (the endpoint), status messages and NAKs to the
// control group, whose address is the data group's plus one (the data
// group's last byte must be odd). A publication's socket is bound to the
// control group's port and joins the control group; a subscription's is
// bound to the data group's port and joins the data group; both send on
// the interface the channel's interface= selects (a wildcard, the default,
// or an address or subnet such as 192.168.1.0/24), with the channel's ttl=
// and the multicast loop on, so receivers on the same host hear the
// publication.

// localAddr is an address of an up interface.
type localAddr struct {
	index int // interface index
	addr  netip.Prefix
	flags net.Flags
}

// listInterfaces returns the addresses of the up interfaces (a variable so
// that tests can give the selection rule interfaces this host lacks).
var listInterfaces = func() ([]localAddr, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var out []localAddr
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			return nil, err
		}
		for _, a := range addrs {
			n, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(n.IP)
			if !ok {
				continue
			}
			ones, _ := n.Mask.Size()
			ip = ip.Unmap()
			out = append(out, localAddr{index: ifc.Index, addr: netip.PrefixFrom(ip, ones), flags: ifc.Flags})
		}
	}
	return out, nil
}

// errNoInterface: no up interface matches interface=.
var errNoInterface = errors.New("no matching interface")

// parseInterface reads an interface= value: host[:port][/prefix] (IPv6
// hosts in brackets), as aeron_interface_parse_and_resolve. Without a
// prefix the address must match exactly (/32 or /128). Under loopbackOnly
// only literal addresses and "localhost" are taken, without DNS.
func parseInterface(s string, loopbackOnly bool) (netip.AddrPort, int, error) {
	hostport, prefix, hasPrefix := strings.Cut(s, "/")
	if !strings.Contains(hostport, ":") || strings.HasSuffix(hostport, "]") {
		hostport += ":0"
	}
	var ap netip.AddrPort
	var err error
	if host, port, ok := strings.Cut(hostport, ":"); loopbackOnly && ok && host == "localhost" {
		hostport = "127.0.0.1:" + port
	}
	if loopbackOnly {
		ap, err = netip.ParseAddrPort(hostport)
		ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	} else {
		ap, err = resolve(hostport)
	}
	if err != nil {
		return netip.AddrPort{}, 0, err
	}
	bits := ap.Addr().BitLen()
	if hasPrefix {
		n, err := strconv.Atoi(prefix)
		if err != nil || n < 0 || n > bits {
			return netip.AddrPort{}, 0, fmt.Errorf("prefix /%s: want 0 to %d", prefix, bits)
		}
		bits = n
	}
	return ap, bits, nil
}

// findInterface selects the local interface address for spec (host[:port]
// [/prefix]) among addrs with Aeron's rule (aeron_ip_lookup_func): the
// first loopback address in the subnet if no other matched yet, else the
// multicast-capable one with the longest netmask. It returns the address
// (with spec's port) and the interface index.
func findInterface(spec netip.AddrPort, prefixLen int, addrs []localAddr) (netip.AddrPort, int, error) {
	want := netip.PrefixFrom(spec.Addr(), prefixLen).Masked()
	var found bool
	var best localAddr
	bestBits := 0
	for _, a := range addrs {
		if a.addr.Addr().Is4() != spec.Addr().Is4() || !want.Contains(a.addr.Addr()) {
			continue
		}
		switch {
		case a.flags&net.FlagLoopback != 0 && !found:
			best, found = a, true
		case a.flags&net.FlagMulticast != 0:
			if a.addr.Bits() > bestBits {
				best, bestBits = a, a.addr.Bits()
			}
			found = true
		}
	}
	if !found {
		return netip.AddrPort{}, 0, errNoInterface
	}
	return netip.AddrPortFrom(best.addr.Addr(), spec.Port()), best.index, nil
}

// selectInterface resolves a channel's interface= (empty: the wildcard of
// the family) to a local interface address. Under loopbackOnly the
// interface found must be a loopback one.
func selectInterface(spec string, is4, loopbackOnly bool) (netip.AddrPort, int, error) {
	if spec == "" {
		spec = "0.0.0.0/0"
		if !is4 {
			spec = "[::]/0"
		}
	}
	ap, bits, err := parseInterface(spec, loopbackOnly)
	if err != nil {
		return netip.AddrPort{}, 0, err
	}
	addrs, err := listInterfaces()
	if err != nil {
		return netip.AddrPort{}, 0, err
	}
	if ap.Addr().Is4() != is4 {
		return netip.AddrPort{}, 0, errors.New("interface and endpoint are of different address families")
	}
	found, index, err := findInterface(ap, bits, addrs)
	if err != nil {
		return netip.AddrPort{}, 0, err
	}
	if loopbackOnly && !found.Addr().IsLoopback() {
		return netip.AddrPort{}, 0, fmt.Errorf("interface %s: %w", found.Addr(), errNotLoopback)
	}
	return found, index, nil
}

// multicastControl is the control group of a data group: its address plus
// one (aeron_multicast_control_address); the data group's last byte must be
// odd.
func multicastControl(data netip.AddrPort) (netip.AddrPort, error) {
	b := data.Addr().AsSlice()
	if b[len(b)-1]&1 == 0 {
		return netip.AddrPort{}, errors.New("multicast data address must be odd")
	}
	b[len(b)-1]++
	a, _ := netip.AddrFromSlice(b)
	return netip.AddrPortFrom(a, data.Port()), nil
}

// multicastSocket describes a multicast socket: the group it binds to and
// joins, and the interface and ttl of what it sends.
type multicastSocket struct {
	group   netip.AddrPort
	iface   netip.Addr
	ifIndex int
	ttl     int
}

// listenMulticast opens a socket bound to the wildcard address and the
// group's port (address reuse on, so that other drivers on the host can
// join the same group), joined to the group on the interface, sending there
// with the multicast loop on. IP_MULTICAST_ALL is turned off so the socket
// hears only its own group, not every group any socket of the host joined.
func listenMulticast(m multicastSocket, rcvbuf, sndbuf int) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
			if serr == nil {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	network, bind := "udp4", netip.AddrPortFrom(netip.IPv4Unspecified(), m.group.Port())
	if m.group.Addr().Is6() {
		network, bind = "udp6", netip.AddrPortFrom(netip.IPv6Unspecified(), m.group.Port())
	}
	pc, err := lc.ListenPacket(context.Background(), network, bind.String())
	if err != nil {
		return nil, err
	}
	conn := pc.(*net.UDPConn)
	if err := joinMulticast(conn, m); err != nil {
		_ = conn.Close()
		return nil, err
	}
	if rcvbuf > 0 {
		_ = conn.SetReadBuffer(rcvbuf)
	}
	if sndbuf > 0 {
		_ = conn.SetWriteBuffer(sndbuf)
	}
	return conn, nil
}

func joinMulticast(conn *net.UDPConn, m multicastSocket) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		s := int(fd)
		set := func(what string, f func() error) {
			if serr == nil {
				if err := f(); err != nil {
					serr = fmt.Errorf("%s: %w", what, err)
				}
			}
		}
		if m.group.Addr().Is4() {
			mreq := &unix.IPMreq{Multiaddr: m.group.Addr().As4(), Interface: m.iface.As4()}
			set("IP_ADD_MEMBERSHIP", func() error { return unix.SetsockoptIPMreq(s, unix.IPPROTO_IP, unix.IP_ADD_MEMBERSHIP, mreq) })
			set("IP_MULTICAST_IF", func() error {
				return unix.SetsockoptInet4Addr(s, unix.IPPROTO_IP, unix.IP_MULTICAST_IF, m.iface.As4())
			})
			set("IP_MULTICAST_LOOP", func() error { return unix.SetsockoptInt(s, unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP, 1) })
			set("IP_MULTICAST_ALL", func() error { return unix.SetsockoptInt(s, unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0) })
			if m.ttl > 0 {
				set("IP_MULTICAST_TTL", func() error { return unix.SetsockoptInt(s, unix.IPPROTO_IP, unix.IP_MULTICAST_TTL, m.ttl) })
			}
			return
		}
		mreq := &unix.IPv6Mreq{Multiaddr: m.group.Addr().As16(), Interface: uint32(m.ifIndex)}
		set("IPV6_JOIN_GROUP", func() error { return unix.SetsockoptIPv6Mreq(s, unix.IPPROTO_IPV6, unix.IPV6_JOIN_GROUP, mreq) })
		set("IPV6_MULTICAST_IF", func() error { return unix.SetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_IF, m.ifIndex) })
		set("IPV6_MULTICAST_LOOP", func() error { return unix.SetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_LOOP, 1) })
		_ = unix.SetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_ALL, 0) // older kernels lack it
		if m.ttl > 0 {
			set("IPV6_MULTICAST_HOPS", func() error { return unix.SetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS, m.ttl) })
		}
	})
	if err != nil {
		return err
	}
	return serr
}
