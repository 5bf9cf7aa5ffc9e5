package mediadriver

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"

	"github.com/tpool-go/tpool/runtime/aeron/internal/counters"
)

// System counter ids, in the order and with the labels of the C driver
// (aeron_system_counters.h), so tools such as AeronStat find them at the
// same counter ids. The embedded driver maintains the ones that apply to
// IPC; the network ones stay 0.
const (
	sysBytesSent = iota
	sysBytesReceived
	sysReceiverProxyFails
	sysSenderProxyFails
	sysConductorProxyFails
	sysNAKsSent
	sysNAKsReceived
	sysStatusMessagesSent
	sysStatusMessagesReceived
	sysHeartbeatsSent
	sysHeartbeatsReceived
	sysRetransmitsSent
	sysFlowControlUnderRuns
	sysFlowControlOverRuns
	sysInvalidPackets
	sysErrors
	sysShortSends
	sysFreeFails
	sysSenderFlowControlLimits
	sysUnblockedPublications
	sysUnblockedCommands
	sysPossibleTTLAsymmetry
	sysControllableIdleStrategy
	sysLossGapFills
	sysClientTimeouts
	sysResolutionChanges
	sysConductorMaxCycleTime
	sysConductorCycleThresholdExceeded
	sysSenderMaxCycleTime
	sysSenderCycleThresholdExceeded
	sysReceiverMaxCycleTime
	sysReceiverCycleThresholdExceeded
	sysNameResolverMaxTime
	sysNameResolverThresholdExceeded
	sysAeronVersion
	sysBytesCurrentlyMapped
	sysRetransmittedBytes
	sysRetransmitOverflow
	sysErrorFramesReceived
	sysErrorFramesSent
	sysCount
)

// Version names this driver in the system counter labels.
const Version = "tpool-embedded"

var systemCounterLabels = [sysCount]string{
	"Bytes sent", "Bytes received", "Failed offers to ReceiverProxy", "Failed offers to SenderProxy",
	"Failed offers to DriverConductorProxy", "NAKs sent", "NAKs received", "Status Messages sent",
	"Status Messages received", "Heartbeats sent", "Heartbeats received", "Retransmits sent",
	"Flow control under runs", "Flow control over runs", "Invalid packets",
	"Errors: version=" + Version + " commit=none", "Short sends", "Failed attempts to free log buffers",
	"Sender flow control limits, i.e. back-pressure events", "Unblocked Publications",
	"Unblocked Control Commands", "Possible TTL Asymmetry", "ControllableIdleStrategy status",
	"Loss gap fills", "Client liveness timeouts", "Resolution changes",
	"Conductor max cycle time doing its work in ns", "Conductor work cycle exceeded threshold count",
	"Sender max cycle time doing its work in ns", "Sender work cycle exceeded threshold count",
	"Receiver max cycle time doing its work in ns", "Receiver work cycle exceeded threshold count",
	"NameResolver max time in ns", "NameResolver exceeded threshold count",
	"Aeron software: version=" + Version + " commit=none", "Bytes currently mapped", "Retransmitted bytes",
	"Retransmit Pool Overflow count", "Error Frames received", "Error Frames sent",
}

type systemCounters [sysCount]*atomic.Int64

func allocateSystemCounters(m *counters.Manager) (*systemCounters, error) {
	var s systemCounters
	for i, label := range systemCounterLabels {
		key := binary.LittleEndian.AppendUint32(nil, uint32(i))
		id, err := m.Allocate(counters.TypeSystem, key, label)
		if err != nil {
			return nil, fmt.Errorf("system counter %q: %w", label, err)
		}
		if s[i], err = m.Addr(id); err != nil {
			return nil, err
		}
	}
	return &s, nil
}
