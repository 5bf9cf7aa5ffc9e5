package mediadriver

import (
	"errors"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/tpool-go/tpool/runtime/aeron/internal/command"
	"github.com/tpool-go/tpool/runtime/aeron/internal/uri"
)

// udpParams are the parameters the embedded driver understands on an
// aeron:udp channel. Anything else is refused with an error naming it, so a
// channel never silently means less than it says.
var udpParams = map[string]bool{
	"endpoint": true, "interface": true, "mtu": true, "term-length": true, "init-term-id": true,
	"term-id": true, "term-offset": true, "session-id": true, "linger": true, "reliable": true,
	"sparse": true, "alias": true, "eos": true, "tether": true, "rejoin": true, "fc": true,
	"gtag": true, "rcv-wnd": true, "so-sndbuf": true, "so-rcvbuf": true, "pub-wnd": true,
	"cc": true, "ssc": true, "tags": true, "control": true, "control-mode": true, "ttl": true,
}

// udpNotYet are Aeron parameters the embedded driver does not implement
// (docs/AERON.md says why): they get an explicit NOT_SUPPORTED error.
var udpNotYet = map[string]string{
	"group":                           "group semantics (group=)",
	"nak-delay":                       "per-channel NAK delay (nak-delay=)",
	"max-resend":                      "per-channel max-resend",
	"response-correlation-id":         "response channels",
	"control-response":                "response channels",
	"media-rcv-ts-offset":             "receive timestamps",
	"channel-rcv-ts-offset":           "receive timestamps",
	"channel-snd-ts-offset":           "send timestamps",
	"untethered-window-limit-timeout": "untethered UDP images",
	"untethered-resting-timeout":      "untethered UDP images",
	"untethered-linger-timeout":       "untethered UDP images",
}

// udpChannel is a parsed aeron:udp channel.
type udpChannel struct {
	uri      uri.URI
	original string
	endpoint netip.AddrPort
	iface    netip.AddrPort // zero: any
	// canonical names the endpoint the channel's socket is for: channels
	// with the same canonical form share a socket (as Aeron's
	// "UDP-<local>-<remote>" canonical form).
	canonical string
	reliable  bool
	gtag      int64
	hasGTag   bool
	rcvWindow int
	sndbuf    int
	rcvbuf    int
	// tags=CHANNEL[,PUB]: a channel with an endpoint and a channel tag
	// registers its endpoint under the tag; one with only the tag refers
	// to that endpoint (ref true, no endpoint parsed). A publication tag
	// names a publication others can share.
	hasChannelTag bool
	channelTag    int64
	hasPubTag     bool
	pubTag        int64
	ref           bool
	// mdc: a multi-destination-cast publication channel: manual
	// (control-mode=manual, destinations added by command) or dynamic
	// (control= without an endpoint, destinations learned from the status
	// messages receivers send to the control address); the control address
	// is then the local address of its socket (in iface).
	mdc     bool
	dynamic bool
	// control: a subscription's control address (endpoint and control=):
	// the receiver asks it for setups until it has an image (dynamic MDC).
	control    netip.AddrPort
	hasControl bool
	manualMode bool
	// multicast: the endpoint is a group; data and setups go to it, status
	// messages and NAKs to mcControl (udp_multicast.go), on the interface
	// iface (index ifIndex), with ttl (0: the system's default).
	multicast bool
	mcControl netip.AddrPort
	ifIndex   int
	ttl       int
}

// dataSocket is the multicast socket of a subscription: bound to the data
// group.
func (ch *udpChannel) dataSocket() multicastSocket {
	return multicastSocket{group: ch.endpoint, iface: ch.iface.Addr(), ifIndex: ch.ifIndex, ttl: ch.ttl}
}

// controlSocket is the multicast socket of a publication: bound to the
// control group.
func (ch *udpChannel) controlSocket() multicastSocket {
	return multicastSocket{group: ch.mcControl, iface: ch.iface.Addr(), ifIndex: ch.ifIndex, ttl: ch.ttl}
}

// errNotLoopback refuses an address under UDPConfig.LoopbackOnly.
var errNotLoopback = errors.New("not a loopback address (the driver is configured loopback-only)")

// resolveLocal resolves with the loopback-only rule: only literal loopback
// (or, for a local address, unspecified) addresses and "localhost".
func resolveLocal(hostport string, loopbackOnly, local bool) (netip.AddrPort, error) {
	if !loopbackOnly {
		return resolve(hostport)
	}
	if host, port, ok := strings.Cut(hostport, ":"); ok && host == "localhost" {
		hostport = "127.0.0.1:" + port
	}
	ap, err := netip.ParseAddrPort(hostport)
	if err != nil {
		return netip.AddrPort{}, errNotLoopback
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if !ap.Addr().IsLoopback() && !(local && ap.Addr().IsUnspecified()) {
		return netip.AddrPort{}, errNotLoopback
	}
	return ap, nil
}

func resolve(hostport string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(hostport); err == nil {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
	}
	a, err := net.ResolveUDPAddr("udp", hostport)
	if err != nil {
		return netip.AddrPort{}, err
	}
	ap := a.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

// parseUDPChannel checks the parameters of an aeron:udp channel and
// resolves its addresses.
func parseUDPChannel(u uri.URI, channel string, loopbackOnly bool) (*udpChannel, error) {
	// As for IPC (conductor.go): a channel that cannot be understood is
	// INVALID_CHANNEL, a bad parameter value GENERIC_ERROR (aeronmd's
	// EINVAL), a parameter the embedded driver does not serve NOT_SUPPORTED.
	invalid := func(format string, args ...any) error {
		return cmdErr(command.ErrorInvalidChannel, "%s: "+format, append([]any{channel}, args...)...)
	}
	bad := func(format string, args ...any) error {
		return cmdErr(command.ErrorGenericError, "%s: "+format, append([]any{channel}, args...)...)
	}
	keys := make([]string, 0, len(u.Params))
	for k := range u.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if what, ok := udpNotYet[k]; ok {
			return nil, cmdErr(command.ErrorNotSupported, "%s: parameter %q: %s is not supported by the embedded driver", channel, k, what)
		}
		if !udpParams[k] {
			return nil, invalid("unknown parameter %q", k)
		}
	}
	ch := &udpChannel{uri: u, original: channel}
	var err error
	if tags, ok := u.Params["tags"]; ok {
		first, second, two := strings.Cut(tags, ",")
		if ch.channelTag, err = strconv.ParseInt(first, 10, 64); err != nil {
			return nil, bad("tags=%q: want TAG or TAG,TAG", tags)
		}
		ch.hasChannelTag = true
		if two {
			if ch.pubTag, err = strconv.ParseInt(second, 10, 64); err != nil {
				return nil, bad("tags=%q: want TAG or TAG,TAG", tags)
			}
			ch.hasPubTag = true
		}
	}
	ep, ok := u.Params["endpoint"]
	mode, hasMode := u.Params["control-mode"]
	ctrl, hasCtrl := u.Params["control"]
	if hasMode && mode != "manual" && mode != "dynamic" {
		return nil, cmdErr(command.ErrorNotSupported, "%s: control-mode=%s is not supported by the embedded driver", channel, mode)
	}
	ch.manualMode = mode == "manual"
	if hasCtrl {
		if ch.control, err = resolveLocal(ctrl, loopbackOnly, false); err != nil {
			return nil, bad("control %q: %v", ctrl, err)
		}
		ch.hasControl = true
	}
	switch {
	case ch.manualMode && ok:
		return nil, invalid("control-mode=manual takes destinations, not an endpoint")
	case ch.manualMode || hasCtrl && !ok:
		// A publication's MDC channel; its socket is bound to control.
		ch.mdc, ch.dynamic, ch.iface = true, !ch.manualMode, ch.control
		if ch.dynamic && !hasCtrl {
			return nil, invalid("dynamic multi-destination-cast needs control=")
		}
	}
	if (!ok || ep == "") && ch.hasChannelTag && !ch.mdc {
		ch.ref = true // the conductor finds the tagged endpoint
		if ch.reliable, err = u.Bool(uri.ReliableKey, true); err != nil {
			return nil, bad("%v", err)
		}
		return ch, nil
	}
	if (!ok || ep == "") && !ch.mdc {
		return nil, invalid("endpoint= is required (or control-mode=manual)")
	}
	if !ch.mdc {
		if ap, perr := netip.ParseAddrPort(ep); perr == nil && ap.Addr().Unmap().IsMulticast() {
			// A group: the interface decides where packets go (and is
			// held to loopback under LoopbackOnly).
			ch.endpoint = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		} else if ch.endpoint, err = resolveLocal(ep, loopbackOnly, false); err != nil {
			return nil, bad("endpoint %q: %v", ep, err)
		}
	}
	iface, hasIface := u.Params["interface"]
	switch {
	case ch.mdc:
	case ch.endpoint.Addr().IsMulticast():
		if hasCtrl {
			return nil, invalid("control= is for unicast channels, not the multicast group %s", ep)
		}
		if ch.mcControl, err = multicastControl(ch.endpoint); err != nil {
			return nil, bad("endpoint %q: %v", ep, err)
		}
		if ch.iface, ch.ifIndex, err = selectInterface(iface, ch.endpoint.Addr().Is4(), loopbackOnly); err != nil {
			return nil, bad("interface %q: %v", iface, err)
		}
		ch.multicast = true
		if v, ok := u.Params["ttl"]; ok {
			if ch.ttl, err = strconv.Atoi(v); err != nil || ch.ttl < 0 || ch.ttl > 255 {
				return nil, bad("ttl=%q: want 0 to 255", v)
			}
		}
	case hasIface && strings.Contains(iface, "/"):
		// A subnet: the local address on it (a wildcard stays one).
		spec, _, perr := parseInterface(iface, loopbackOnly)
		switch {
		case perr != nil:
			err = perr
		case spec.Addr().IsUnspecified():
			ch.iface = spec
		default:
			ch.iface, _, err = selectInterface(iface, ch.endpoint.Addr().Is4(), loopbackOnly)
		}
		if err != nil {
			return nil, bad("interface %q: %v", iface, err)
		}
	case hasIface:
		if !strings.Contains(iface, ":") || strings.HasSuffix(iface, "]") {
			iface += ":0"
		}
		if ch.iface, err = resolveLocal(iface, loopbackOnly, true); err != nil {
			return nil, bad("interface %q: %v", iface, err)
		}
	}
	if ch.reliable, err = u.Bool(uri.ReliableKey, true); err != nil {
		return nil, bad("%v", err)
	}
	if v, ok := u.Params["gtag"]; ok {
		if ch.gtag, err = strconv.ParseInt(v, 10, 64); err != nil {
			return nil, bad("gtag=%q is not an int64", v)
		}
		ch.hasGTag = true
	}
	for _, s := range []struct {
		key string
		dst *int
	}{{"rcv-wnd", &ch.rcvWindow}, {"so-sndbuf", &ch.sndbuf}, {"so-rcvbuf", &ch.rcvbuf}} {
		n, err := u.Size(s.key, 0)
		if err != nil || n < 0 || n > 1<<30 {
			return nil, bad("%s=%q: want a size up to 1g", s.key, u.Params[s.key])
		}
		*s.dst = int(n)
	}
	if cc, ok := u.Params["cc"]; ok && cc != "static" {
		return nil, cmdErr(command.ErrorNotSupported, "%s: congestion control cc=%s is not supported (only static)", channel, cc)
	}
	ch.canonical = "UDP-" + ch.iface.String() + "-" + ch.endpoint.String()
	return ch, nil
}
