// Package control is the typed control plane of the SHM Driver Model: the
// messages of the driver schema (gen/driver, id 901: attach, detach,
// keepalive, lease revoked, driver shutdown and its request) and the wire
// schema's ShmPoolAnnounce (gen/wire, id 900), sent and received over Aeron.
// The driver (runtime/driver), the driver client (runtime/driverclient) and
// tools build on it.
//
// # Sending
//
// A [Sender] owns one reusable buffer and one encoder per message. Each
// Send method takes a plain value, encodes it into the buffer and offers it
// on the publication, retrying a bounded number of times on back pressure
// or an admin action. It returns the Offer result: a new stream position
// (> 0) or a negative status (the aeron status values, or
// [StatusEncodeFailed]); see [Sent]. Nothing is allocated: strings are
// copied into the buffer. Absent optional fields are encoded as their SBE
// null values, never 0 (NOTES.md decision 4), and every field a response
// with a code other than OK must not carry is written as null.
//
// # Receiving
//
// A [Poller] polls a subscription (reassembling fragmented messages),
// checks each message's header (length, schema id, schema version,
// template id, block length) and the whole message's framing, then calls
// one method of its [Handler] with a decoded flyweight. Anything else is
// counted in [PollerStats] and dropped (or handed to the handler's
// OnUnsupported / OnOther hooks, so a driver can answer a newer client with
// UNSUPPORTED and later users can take other wire messages from the same
// stream). The Poller never panics on any input and allocates nothing in
// steady state.
//
// # Caveats
//
// The decoders a Handler receives, and every byte slice they return, alias
// the subscription's log buffer (or the reassembly buffer) and are valid
// only during the call: copy what must outlive it. A Sender and a Poller
// are each for one goroutine at a time.
package control
