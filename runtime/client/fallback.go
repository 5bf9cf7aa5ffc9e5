package client

import (
	"strings"
)

// Payload fallback URIs (wire spec v1.2 sections 10.1.3 and 15.12): where a
// consumer that cannot map the producer's SHM regions could get the
// payload instead, e.g. from a bridge. tpool checks them and reports their
// status (Consumer.Status), but does not implement payload fallback: a
// consumer in the FALLBACK state receives nothing until the regions can
// be mapped again.

// FallbackStatus says what a consumer can make of a payload fallback URI.
type FallbackStatus int

// Fallback statuses.
const (
	// FallbackNone: no fallback URI was given.
	FallbackNone FallbackStatus = iota
	// FallbackUnsupported: the URI is malformed or its scheme is not one
	// the wire spec defines (an Aeron channel or bridge://<id>); the spec
	// requires treating it as unsupported.
	FallbackUnsupported
	// FallbackNotImplemented: a well-formed Aeron channel (aeron:udp or
	// aeron:ipc) or bridge://<id>, but tpool has no payload fallback over
	// the bridge yet, so it is not used.
	FallbackNotImplemented
)

var fallbackNames = [...]string{"none", "unsupported", "not-implemented"}

func (s FallbackStatus) String() string {
	if s >= 0 && int(s) < len(fallbackNames) {
		return fallbackNames[s]
	}
	return "FallbackStatus(?)"
}

// maxFallbackURI bounds the URI checked (longer ones are unsupported).
const maxFallbackURI = 4096

// CheckFallbackURI classifies a payload fallback URI (as configured, or as
// received in a ConsumerConfig message). The empty string is FallbackNone.
// It never panics on any input.
func CheckFallbackURI(uri string) FallbackStatus {
	switch {
	case uri == "":
		return FallbackNone
	case len(uri) > maxFallbackURI:
		return FallbackUnsupported
	case strings.HasPrefix(uri, "aeron:udp") || strings.HasPrefix(uri, "aeron:ipc"):
		if validAeronChannel(uri[len("aeron:"):]) {
			return FallbackNotImplemented
		}
	case strings.HasPrefix(uri, "bridge://"):
		if validBridgeID(uri[len("bridge://"):]) {
			return FallbackNotImplemented
		}
	}
	return FallbackUnsupported
}

// validAeronChannel checks "udp" or "ipc", then optionally "?k=v|k=v...":
// Aeron's channel syntax, with non-empty keys and values of printable
// characters.
func validAeronChannel(s string) bool {
	media, params, hasParams := strings.Cut(s, "?")
	if media != "udp" && media != "ipc" {
		return false
	}
	if !hasParams {
		return true
	}
	for kv := range strings.SplitSeq(params, "|") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || v == "" || !printable(k) || !printable(v) {
			return false
		}
	}
	return true
}

// validBridgeID: a non-empty id of letters, digits, '.', '_' and '-'.
func validBridgeID(id string) bool {
	if id == "" || len(id) > 255 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f || s[i] == '|' || s[i] == '?' {
			return false
		}
	}
	return true
}
