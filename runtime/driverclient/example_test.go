package driverclient_test

import (
	"context"
	"log"

	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/driverclient"
	"github.com/tpool-go/tpool/runtime/pool"
)

// A consumer attaches through the driver, maps what its lease names, and
// remaps whenever the lease comes back with another epoch. (A producer
// does the same with pool.OpenRegion(..., true) and pool.NewProducer, and
// publishes only while Usable.)
func Example() {
	ctx := context.Background()
	a, err := aeron.Connect(ctx, aeron.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()

	remap := make(chan struct{}, 1)
	c, err := driverclient.New(ctx, a, driverclient.Config{
		OnEvent: func(e driverclient.Event) {
			switch e.Kind {
			case driverclient.EventReattached, driverclient.EventEpochChanged:
				select {
				case remap <- struct{}{}:
				default:
				}
			}
		},
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.Start(); err != nil {
		log.Fatal(err)
	}

	lease, err := c.Attach(ctx, driverclient.AttachRequest{StreamID: 10000, Role: driverclient.RoleConsumer})
	if err != nil {
		log.Fatal(err) // a *driverclient.ResponseError if the driver said no
	}
	allow, err := c.AllowList()
	if err != nil {
		log.Fatal(err)
	}
	m, err := pool.Attach(lease.Announcement(), allow, 0)
	if err != nil {
		log.Fatal(err)
	}
	for range 1000 {
		select {
		case <-remap:
			m.Close()
			if m, err = pool.Attach(lease.Announcement(), allow, 0); err != nil {
				log.Fatal(err)
			}
		default:
		}
		if !lease.Usable() {
			continue // fail closed: revoked, driver lost, or waiting for a new epoch
		}
		// ... read frames with m.Consumer ...
	}
	m.Close()
	if err := c.Detach(ctx, lease); err != nil {
		log.Print(err)
	}
}
