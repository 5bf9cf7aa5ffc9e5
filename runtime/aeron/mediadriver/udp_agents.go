package mediadriver

import (
	"strings"

	"github.com/tpool-go/tpool/runtime/agent"
)

// composite runs several agents as one, for the shared threading modes.
type composite []agent.Agent

func (c composite) Name() string {
	names := make([]string, len(c))
	for i, a := range c {
		names[i] = a.Name()
	}
	return strings.Join(names, "+")
}

func (c composite) OnStart() error {
	for i, a := range c {
		if err := a.OnStart(); err != nil {
			for _, b := range c[:i] {
				b.OnClose()
			}
			return err
		}
	}
	return nil
}

func (c composite) DoWork() (int, error) {
	work := 0
	for _, a := range c {
		n, err := a.DoWork()
		work += n
		if err != nil {
			return work, err
		}
	}
	return work, nil
}

func (c composite) OnClose() {
	for _, a := range c {
		a.OnClose()
	}
}

// startAgents starts the conductor, sender and receiver on the goroutines
// the threading mode asks for.
func (d *Driver) startAgents() error {
	cfg := d.cfg
	onError := func(name string) func(error) {
		return func(err error) { cfg.Logger.Error(name, "err", err) }
	}
	snd, rcv := d.cond.udp.sender, d.cond.udp.receiver
	var main agent.Agent = d.cond
	var others []*agent.Runner
	switch cfg.UDP.Threading {
	case ThreadingShared:
		main = composite{d.cond, snd, rcv}
	case ThreadingSharedNetwork:
		others = append(others, agent.NewRunner(composite{snd, rcv}, cfg.UDP.SenderIdle, onError("sender+receiver")))
	default:
		others = append(others,
			agent.NewRunner(snd, cfg.UDP.SenderIdle, onError("sender")),
			agent.NewRunner(rcv, cfg.UDP.ReceiverIdle, onError("receiver")))
	}
	d.runner = agent.NewRunner(main, cfg.Idle, onError("conductor"))
	if err := d.runner.Start(); err != nil {
		return err
	}
	for _, r := range others {
		if err := r.Start(); err != nil {
			d.stopAgents()
			return err
		}
		d.runners = append(d.runners, r)
	}
	return nil
}

// stopAgents stops every agent and waits for them.
func (d *Driver) stopAgents() {
	for _, r := range d.runners {
		_ = r.Close()
	}
	_ = d.runner.Close()
}
