package main

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"
)

// served is a `pspsim serve` a test runs in its own process, as main would.
type served struct {
	// addr is where it listens (host:port).
	addr string
	// out and errb are its standard output and error: read them once it has
	// exited (stop), or when it failed to start.
	out, errb bytes.Buffer

	cancel context.CancelFunc
	done   chan int
	once   sync.Once
	code   int
}

// startServe runs `pspsim serve --addr 127.0.0.1:0 args...` and returns once
// it accepts connections. It stops when the test ends, or earlier by stop.
func startServe(t *testing.T, args ...string) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{cancel: cancel, done: make(chan int, 1)}
	ready := make(chan string, 1)
	go func() {
		s.done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), &s.out, &s.errb, ready)
	}()
	select {
	case s.addr = <-ready:
	case code := <-s.done:
		cancel()
		t.Fatalf("serve exited %d: %s", code, s.errb.String())
	case <-time.After(patience):
		cancel()
		t.Fatal("serve did not start")
	}
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop ends serve as SIGTERM does (its context ends), waits for it and
// returns its exit status.
func (s *served) stop(t *testing.T) int {
	t.Helper()
	s.once.Do(func() {
		s.cancel()
		select {
		case s.code = <-s.done:
		case <-time.After(patience):
			t.Fatal("serve did not shut down")
		}
	})
	return s.code
}
