package simulator_test

import (
	"context"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator"
	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/simtest"
)

// BenchmarkCollector measures what the garbage collector's target costs
// and saves on the card gateway's createPayment, under serve's soft memory
// limit (simulator.DefaultMemoryLimit): the process's CPU per payment
// (getrusage, so the machine's other load does not count), the collector's
// share of it (runtime/metrics' estimate, idle marking left out), the
// collections run, and the
// largest heap seen (objects, sampled every 500 payments) — what `pspsim
// serve --gc-percent` trades (cmd/pspsim, collector.go; docs/PERFORMANCE.md,
// "The collector"):
//
//	go test -run XXX -bench Collector -benchtime 20000x -count 3 ./simulator/
func BenchmarkCollector(b *testing.B) {
	for _, gogc := range []int{100, 200, 400, -1} {
		name := "gogc=" + strconv.Itoa(gogc)
		if gogc < 0 {
			name = "gogc=off"
		}
		b.Run(name, func(b *testing.B) {
			defer debug.SetGCPercent(debug.SetGCPercent(100))
			defer debug.SetMemoryLimit(debug.SetMemoryLimit(simulator.DefaultMemoryLimit))
			// Not newBenchSim: its cleanup would keep this simulator alive
			// through the next sub-benchmark, whose heap it would weigh on.
			sim, err := simulator.New(context.Background(), simulator.Options{Clock: clock.NewSim(simtest.Start), Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			defer sim.Close()
			h := sim.Handler()
			auth := "Bearer " + vmToken(b, h)
			runtime.GC()
			debug.SetGCPercent(gogc)
			samples := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/gc/cycles/total:gc-cycles"}, {Name: "/memory/classes/heap/objects:bytes"}, {Name: "/cpu/classes/gc/mark/idle:cpu-seconds"}}
			metrics.Read(samples)
			start := samples[2].Value.Uint64()
			gc0, cycles0, idle0 := samples[0].Value.Float64(), samples[1].Value.Uint64(), samples[3].Value.Float64()
			cpu0 := processCPU()
			var peak uint64
			n := 0
			for b.Loop() {
				n++
				if rec := do(h, simtest.JSONRequest("POST", "/vm/v1/payments", vmPaymentBody("C"+strconv.Itoa(100000000+n)), "Authorization", auth)); rec.Code != 200 {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
				if n%500 == 0 {
					metrics.Read(samples[2:])
					peak = max(peak, samples[2].Value.Uint64())
				}
			}
			cpu := processCPU() - cpu0
			metrics.Read(samples)
			// The idle mark workers run on processors that had nothing
			// else to do (this benchmark is one goroutine): counted in the
			// process's CPU, not in the collector's share of the work.
			gc := samples[0].Value.Float64() - gc0 - (samples[3].Value.Float64() - idle0)
			b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/op")
			b.ReportMetric(100*gc/cpu.Seconds(), "gc-%cpu")
			b.ReportMetric(float64(samples[1].Value.Uint64()-cycles0), "gcs")
			b.ReportMetric(float64(peak)/1e6, "peak-heap-MB")
			b.ReportMetric(float64(start)/1e6, "start-heap-MB")
		})
	}
}

// processCPU is the user and system CPU the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
