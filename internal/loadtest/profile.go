package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"

	"github.com/pspsim/pspsim/simulator"
	"github.com/pspsim/pspsim/simulator/clock"
)

// serveProfiled runs a simulator as `pspsim serve --clock=sim` would, with
// the CPU profiled until interrupted: `loadtest profile ADDR FILE`, then
// drive it with wrk and read FILE with `go tool pprof`.
func serveProfiled(addr, file string) int {
	f, err := os.Create(file)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	sim, err := simulator.New(context.Background(), simulator.Options{Clock: clock.NewSim(clock.NewReal().Now()), StampClock: clock.NewReal(), Seed: 1})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv := &http.Server{Handler: sim.Handler()}
	pprof.StartCPUProfile(f)
	go srv.Serve(ln)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt)
	<-stop
	pprof.StopCPUProfile()
	f.Close()
	srv.Close()
	sim.Close()
	return 0
}
