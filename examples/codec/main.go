// Command codec shows tpool's generated SBE codecs: it encodes a
// FrameDescriptor and a ShmPoolAnnounce into one buffer, hands each message
// to the wire schema's dispatcher as a receiver would, and prints what was
// decoded.
//
// Usage:
//
//	go run ./examples/codec [-seq N] [-stream ID]
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/tpool-go/tpool/gen/wire"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "codec:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("codec", flag.ContinueOnError)
	seq := fs.Uint64("seq", 42, "frame sequence number to encode")
	stream := fs.Uint("stream", 10000, "stream id")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *stream > math.MaxUint32 {
		return fmt.Errorf("-stream %d does not fit a uint32 stream id", *stream)
	}
	buf := make([]byte, 512)

	// Producer side: a FrameDescriptor, then an announce after it.
	var fd wire.FrameDescriptorEncoder
	if err := fd.WrapWithHeader(buf); err != nil {
		return err
	}
	fd.SetStreamId(uint32(*stream))
	fd.SetEpoch(1)
	fd.SetSeq(*seq)
	fd.SetTimestampNs(1_700_000_000_000_000_000)
	// metaVersion and traceId are left absent: encoded as their null values.
	n1, err := fd.Finish()
	if err != nil {
		return fmt.Errorf("encode FrameDescriptor: %w", err)
	}
	var ann wire.ShmPoolAnnounceEncoder
	if err := ann.WrapWithHeader(buf[n1:]); err != nil {
		return err
	}
	ann.SetStreamId(uint32(*stream))
	ann.SetEpoch(1)
	ann.SetAnnounceClockDomain(wire.ClockDomainMonotonic)
	ann.SetLayoutVersion(1)
	ann.SetHeaderNslots(1024)
	ann.SetHeaderSlotBytes(256)
	pools, err := ann.PayloadPools(1)
	if err != nil {
		return err
	}
	if err := pools.Next(); err != nil {
		return err
	}
	pools.SetPoolId(1)
	pools.SetPoolNslots(1024)
	pools.SetStrideBytes(1 << 20)
	if err := pools.SetRegionUriString("shm:file?path=/dev/shm/tensorpool/demo/1.pool"); err != nil {
		return err
	}
	if err := ann.SetHeaderRegionUriString("shm:file?path=/dev/shm/tensorpool/demo/header.ring"); err != nil {
		return err
	}
	n2, err := ann.Finish()
	if err != nil {
		return fmt.Errorf("encode ShmPoolAnnounce: %w", err)
	}
	fmt.Fprintf(out, "encoded %d + %d bytes\n", n1, n2)

	// Consumer side: dispatch each message by its header.
	var d wire.Dispatcher
	for rest := buf[:n1+n2]; len(rest) > 0; {
		msg, err := d.Decode(rest)
		if err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		switch m := msg.(type) {
		case *wire.FrameDescriptorDecoder:
			fmt.Fprintf(out, "FrameDescriptor seq=%d timestampNs=%d metaVersion absent=%v\n", m.Seq(), m.TimestampNs(), m.MetaVersionIsNull())
		case *wire.ShmPoolAnnounceDecoder:
			for p := m.PayloadPools(); p.Next(); {
				fmt.Fprintf(out, "ShmPoolAnnounce pool %d: %d slots of %d bytes at %s\n", p.PoolId(), p.PoolNslots(), p.StrideBytes(), p.RegionUri())
			}
		}
		fmt.Fprintf(out, "  %s %s\n", msg.SBEMessageName(), msg)
		rest = rest[msg.EncodedLength():]
	}
	return nil
}
