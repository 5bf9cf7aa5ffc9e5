package mediadriver

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tpool-go/tpool/runtime/aeron/internal/command"
	"github.com/tpool-go/tpool/runtime/aeron/internal/logbuffer"
	"github.com/tpool-go/tpool/runtime/aeron/internal/udpframe"
)

// flowControl decides how far a network publication's sender may go
// (snd-lmt) from the status messages of its receivers, as Aeron's
// aeron_flow_control_strategy_t. Calls are serialised by the publication's
// lock.
type flowControl interface {
	onStatusMessage(sm udpframe.SM, sndLmt int64, initialTermID int32, shift int, nowNs int64) int64
	onIdle(nowNs, sndLmt, sndPos int64) int64
	hasRequiredReceivers() bool
	// onRemoteClose forgets a receiver that sent an error frame (it
	// rejected the stream), as Aeron's on_error.
	onRemoteClose(receiverID int64)
}

func smPosition(sm udpframe.SM, initialTermID int32, shift int) int64 {
	return logbuffer.ComputePosition(sm.ConsumptionTermID, int(sm.ConsumptionTermOffset), shift, initialTermID)
}

// maxFlowControl follows the fastest receiver (Aeron's max and unicast
// strategies).
type maxFlowControl struct{}

func (maxFlowControl) onStatusMessage(sm udpframe.SM, sndLmt int64, initialTermID int32, shift int, _ int64) int64 {
	return max(sndLmt, smPosition(sm, initialTermID, shift)+int64(sm.ReceiverWindow))
}
func (maxFlowControl) onIdle(_, sndLmt, _ int64) int64 { return sndLmt }
func (maxFlowControl) hasRequiredReceivers() bool      { return true }
func (maxFlowControl) onRemoteClose(int64)             {}

type fcReceiver struct {
	id      int64
	limit   int64
	lastNs  int64
	inGroup bool
}

// minFlowControl follows the slowest receiver heard from within the
// receiver timeout (Aeron's min strategy); with tagged set, only receivers
// whose status messages carry the group tag count (Aeron's tagged
// strategy). groupMinSize receivers must be present before the publication
// counts as connected.
type minFlowControl struct {
	tagged       bool
	groupTag     int64
	groupMinSize int
	timeoutNs    int64
	receivers    []fcReceiver
}

func (f *minFlowControl) onStatusMessage(sm udpframe.SM, sndLmt int64, initialTermID int32, shift int, nowNs int64) int64 {
	limit := smPosition(sm, initialTermID, shift) + int64(sm.ReceiverWindow)
	inGroup := !f.tagged || (sm.HasGroupTag && sm.GroupTag == f.groupTag)
	if !inGroup {
		return f.limit(sndLmt)
	}
	eos := sm.Flags&udpframe.FlagSMEOS != 0
	for i := range f.receivers {
		r := &f.receivers[i]
		if r.id == sm.ReceiverID {
			if eos {
				f.receivers = append(f.receivers[:i], f.receivers[i+1:]...)
			} else {
				r.limit, r.lastNs = max(r.limit, limit), nowNs
			}
			return f.limit(sndLmt)
		}
	}
	if !eos {
		f.receivers = append(f.receivers, fcReceiver{id: sm.ReceiverID, limit: limit, lastNs: nowNs, inGroup: true})
	}
	return f.limit(sndLmt)
}

func (f *minFlowControl) limit(sndLmt int64) int64 {
	if len(f.receivers) == 0 {
		return sndLmt
	}
	m := int64(math.MaxInt64)
	for _, r := range f.receivers {
		m = min(m, r.limit)
	}
	return m
}

func (f *minFlowControl) onIdle(nowNs, sndLmt, _ int64) int64 {
	kept := f.receivers[:0]
	for _, r := range f.receivers {
		if nowNs-r.lastNs <= f.timeoutNs {
			kept = append(kept, r)
		}
	}
	f.receivers = kept
	return f.limit(sndLmt)
}

func (f *minFlowControl) hasRequiredReceivers() bool { return len(f.receivers) >= f.groupMinSize }

func (f *minFlowControl) onRemoteClose(receiverID int64) {
	for i, r := range f.receivers {
		if r.id == receiverID {
			f.receivers = append(f.receivers[:i], f.receivers[i+1:]...)
			return
		}
	}
}

// parseFlowControl reads fc= ("max", "min", "tagged", with ",g:TAG/N" and
// ",t:TIMEOUT" options, as Aeron's flow control URIs).
func parseFlowControl(channel, fc string, defTimeout time.Duration) (flowControl, error) {
	if fc == "" {
		return maxFlowControl{}, nil
	}
	bad := func(why string) error {
		return cmdErr(command.ErrorGenericError, "%s: fc=%s: %s", channel, fc, why)
	}
	parts := strings.Split(fc, ",")
	f := &minFlowControl{timeoutNs: defTimeout.Nanoseconds()}
	switch parts[0] {
	case "max":
		if len(parts) > 1 {
			return nil, bad("max takes no options")
		}
		return maxFlowControl{}, nil
	case "min":
	case "tagged":
		f.tagged = true
	default:
		return nil, bad("want max, min or tagged")
	}
	hasTag := false
	for _, p := range parts[1:] {
		switch {
		case strings.HasPrefix(p, "t:"):
			d, err := time.ParseDuration(p[2:])
			if err != nil {
				n, perr := strconv.ParseInt(p[2:], 10, 64)
				if perr != nil || n <= 0 {
					return nil, bad(fmt.Sprintf("timeout %q", p[2:]))
				}
				d = time.Duration(n)
			}
			f.timeoutNs = d.Nanoseconds()
		case strings.HasPrefix(p, "g:"):
			g := p[2:]
			tag, size, hasSize := strings.Cut(g, "/")
			if tag != "" {
				n, err := strconv.ParseInt(tag, 10, 64)
				if err != nil {
					return nil, bad(fmt.Sprintf("group tag %q", tag))
				}
				f.groupTag, hasTag = n, true
				if !f.tagged {
					return nil, bad("a group tag needs fc=tagged")
				}
			} else if f.tagged {
				return nil, bad("tagged needs g:TAG")
			}
			if hasSize {
				n, err := strconv.Atoi(size)
				if err != nil || n < 0 {
					return nil, bad(fmt.Sprintf("group size %q", size))
				}
				f.groupMinSize = n
			}
		default:
			return nil, bad(fmt.Sprintf("unknown option %q", p))
		}
	}
	if f.tagged && !hasTag {
		return nil, bad("tagged needs g:TAG")
	}
	return f, nil
}
