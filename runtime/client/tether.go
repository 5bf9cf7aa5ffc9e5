package client

import "strings"

// A consumer that stops reading (killed, stopped in a debugger, starved)
// must not hold the producer back. An Aeron IPC publication runs at most a
// window (half a term) ahead of its slowest subscriber, and a dead
// process's subscription stays until the media driver times its client out
// (10 s by default), so a tethered dead consumer would block the
// descriptor stream for everyone. Consumers therefore subscribe to
// descriptor streams untethered (tether=false), and producers' descriptor
// publications say how long an untethered subscriber may stay three
// quarters of a window behind the fastest before it is cut loose, and how
// long it then rests before it rejoins at the slowest working position
// (Aeron's IPC semantics; in Aeron's C driver these two timeouts are the
// publication's channel parameters, the tether flag the subscription's).
// A consumer that far behind has lost those frames anyway: the header ring
// is far shorter than the window. Channels that already name these
// parameters keep theirs; UDP channels are left alone.
//
// The media driver checks at its timer interval (1 s by default, aeronmd's
// and tpool's): a stalled subscriber is cut loose at the first tick that
// finds it three quarters of a window behind (the limit is below the
// interval) and, as in Aeron, still holds the publication while it
// lingers, until the next tick. A dead consumer therefore stalls the
// descriptor stream for at most two timer intervals less the time the
// producer needs to write the last quarter of the window (about 0.55 s at
// 10 kHz), then not again until it rejoins after the resting time, by
// which its client has usually been timed out (10 s).
const (
	untetheredWindowLimit = "500ms"
	untetheredResting     = "5s"
)

// descriptorSubChannel is the channel consumers subscribe to descriptors on.
func descriptorSubChannel(channel string) string {
	return withIPCParam(channel, "tether", "false")
}

// descriptorPubChannel is the channel producers publish descriptors on.
func descriptorPubChannel(channel string) string {
	channel = withIPCParam(channel, "untethered-window-limit-timeout", untetheredWindowLimit)
	return withIPCParam(channel, "untethered-resting-timeout", untetheredResting)
}

// withIPCParam adds key=value to an aeron:ipc channel that lacks key.
func withIPCParam(channel, key, value string) string {
	if !strings.HasPrefix(channel, "aeron:ipc") {
		return channel
	}
	if _, params, ok := strings.Cut(channel, "?"); ok {
		for _, kv := range strings.Split(params, "|") {
			if k, _, _ := strings.Cut(kv, "="); k == key {
				return channel
			}
		}
		return channel + "|" + key + "=" + value
	}
	return channel + "?" + key + "=" + value
}
