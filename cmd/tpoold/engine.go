package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/tpool-go/tpool/runtime/driver"
)

// engine is what tpoold needs of a running driver.
type engine interface {
	Close() error
	Done() <-chan struct{}
	Err() error
	AeronDir() string
	MediaDriver() string
	Metrics() []metric
}

// startDriver starts the engine. The engine (driver.Start, Contract 2 of
// the driver design) is being written on another branch; until it is
// merged, tpoold validates and prints configurations but cannot run.
func startDriver(ctx context.Context, cfg driver.Config, logger *slog.Logger) (engine, error) {
	return nil, errors.New("the driver engine is not built into this tpoold yet")
}
