package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pspsim/pspsim/simulator/clock"
)

// Keeper is implemented by the schedulers that keep jobs in a database
// (Durable). Keep writes a job's row without setting a timer for it: the
// work it stands for is in flight in this process (a delivery's attempt
// being sent), and the row is there so that, should the process die, the
// lease's expiry hands the job to another replica (or to the restarted
// process), which runs it. The delivery package makes its resumable
// deliveries jobs only when the scheduler is a Keeper.
type Keeper interface {
	Scheduler
	Keep(ctx context.Context, j Job) error
	// HandleLost registers what learns that a job of kind this replica had
	// a timer for was run, cancelled or replaced by another replica (its
	// claim lost), so that what waited for it here lets go.
	HandleLost(kind string, f func(ctx context.Context, key string))
	// Owner is the replica id the scheduler's rows carry.
	Owner() string
	// Mentions reports whether any replica holds a job of kind whose
	// payload contains needle; when the database cannot tell, it says yes
	// (retention keeps what a job may need).
	Mentions(kind string, needle []byte) bool
}

// ErrClosed is returned by a Durable scheduler's writes after Close: a
// closed replica leaves its rows to the others.
var ErrClosed = errors.New("jobs: scheduler closed")

// DurableOptions configure NewDurable.
type DurableOptions struct {
	// Clock is the simulator's gated clock: local timers run inside the
	// gate and die with a reset.
	Clock clock.Clock
	// Table holds the namespace's rows.
	Table Table
	// Owner is this replica's id ("": drawn at random, one per process).
	Owner string
	// Lease is how long a row stays this replica's without a renewal
	// (default 10 s): a replica that dies leaves its jobs to the others
	// that long after its last renewal.
	Lease time.Duration
	// Every is how often the background loop renews this replica's leases
	// and takes over expired ones (default Lease/4, within 250 ms – 1 s).
	Every time.Duration
	// TakeAll makes Start take every row at once, whatever its lease: the
	// database belongs to this process alone (SQLite), so no other owner
	// can be alive.
	TakeAll bool
	Log     *slog.Logger
}

// Durable is the Scheduler of the durable backends: every job is a row of
// Table, and the rows this replica owns have a timer on the (gated) clock,
// as Memory's jobs do.
//
//   - Scheduling writes the row (owner: this replica, a lease) and then
//     sets the local timer.
//   - A timer that fires claims its row by version. A lost claim (another
//     replica ran it, it was cancelled or replaced) does nothing; a won
//     claim runs the handler and then deletes the row by the claimed
//     version, so that a handler that scheduled the same key again leaves
//     its new row. A crash between running and deleting runs the job again
//     after the lease expires: jobs run at least once, and once when no
//     replica dies.
//   - A background loop (wall clock) renews this replica's leases, takes
//     over the rows whose lease expired (a dead replica's) and sets local
//     timers for them.
//   - On the simulated clock, the replica that moves the clock runs every
//     job of the namespace due by the new time, in due order, whoever owns
//     it (BeforeMove); the owner's own timer later loses the claim. A
//     replica that merely catches up with another's move runs its own.
type Durable struct {
	clock clock.Clock
	table Table
	owner string
	lease time.Duration
	every time.Duration
	all   bool
	log   *slog.Logger

	mu       sync.Mutex
	handlers map[string]Handler
	lost     map[string]func(ctx context.Context, key string)
	local    map[key]*local
	closed   bool
	stop     chan struct{}
	loopDone chan struct{}
	started  bool
}

// local is a row this replica has a timer for.
type local struct {
	job     Job
	version int64
	timer   clock.Timer
}

// NewDurable returns a scheduler on o.Table. Register the handlers, then
// call Start.
func NewDurable(o DurableOptions) *Durable {
	if o.Owner == "" {
		o.Owner = NewReplicaID()
	}
	if o.Lease <= 0 {
		o.Lease = 10 * time.Second
	}
	if o.Every <= 0 {
		o.Every = min(max(o.Lease/4, 250*time.Millisecond), time.Second)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Durable{clock: o.Clock, table: o.Table, owner: o.Owner, lease: o.Lease, every: o.Every, all: o.TakeAll, log: o.Log,
		handlers: map[string]Handler{}, lost: map[string]func(context.Context, string){}, local: map[key]*local{}, stop: make(chan struct{}), loopDone: make(chan struct{})}
}

// NewReplicaID draws a replica id: 8 random bytes in hex.
func NewReplicaID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Owner implements Keeper.
func (d *Durable) Owner() string { return d.owner }

// leaseEnd is when a lease taken now ends. Wall time on purpose: a lease
// says whether a process is alive, whatever the namespace's clock says.
func (d *Durable) leaseEnd() time.Time { return time.Now().Add(d.lease) }

// Handle implements Scheduler.
func (d *Durable) Handle(kind string, h Handler) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.handlers[kind] = h
}

// HandleLost implements Keeper.
func (d *Durable) HandleLost(kind string, f func(ctx context.Context, key string)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lost[kind] = f
}

// Start takes over what it may (every row with TakeAll; else the rows
// whose lease expired) and starts the background loop. Call it once the
// handlers are registered: a taken-over job may run at once.
func (d *Durable) Start(ctx context.Context) error {
	d.mu.Lock()
	if d.started || d.closed {
		d.mu.Unlock()
		return nil
	}
	d.started = true
	d.mu.Unlock()
	var since time.Time // zero: every row
	if !d.all {
		since = time.Now()
	}
	if err := d.takeOver(ctx, since); err != nil {
		close(d.loopDone)
		return err
	}
	go d.loop()
	return nil
}

// Close stops the loop and the local timers. The rows stay: their leases
// expire and another replica (or the next start) runs them.
func (d *Durable) Close() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.closed = true
	started := d.started
	list := d.local
	d.local = map[key]*local{}
	d.mu.Unlock()
	close(d.stop)
	if started {
		<-d.loopDone
	}
	for _, e := range list {
		if e.timer != nil {
			e.timer.Stop()
		}
	}
}

func (d *Durable) loop() {
	defer close(d.loopDone)
	// Wall-clock ticks: leases are about processes being alive.
	t := time.NewTicker(d.every)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), d.lease)
			if err := d.table.Renew(ctx, d.owner, d.leaseEnd()); err != nil {
				d.log.Warn("jobs: leases not renewed", "err", err)
			}
			if err := d.takeOver(ctx, time.Now()); err != nil {
				d.log.Warn("jobs: expired leases not taken over", "err", err)
			}
			cancel()
		}
	}
}

// takeOver takes the rows whose lease ended before since (all of them when
// since is zero) and sets their timers.
//
// Every batch gives its rows one lease end, until, and when since is zero
// the batches after the first take only the rows whose lease ends before
// until: "every row" would otherwise be the rows the first batch just took,
// again and again, and a start with more than one batch of rows would never
// end. (A dead process's rows end their leases before until unless it ran
// with a longer lease; those the loop takes when they expire.)
func (d *Durable) takeOver(ctx context.Context, since time.Time) error {
	until := d.leaseEnd()
	for first := true; ; first = false {
		const batch = 256
		cutoff := since
		if cutoff.IsZero() && !first {
			cutoff = until
		}
		rows, err := d.table.TakeOver(ctx, d.owner, cutoff, until, batch)
		if err != nil {
			return err
		}
		for _, r := range rows {
			d.adopt(r)
		}
		if len(rows) < batch {
			return nil
		}
	}
}

// adopt sets a local timer for a row (taken over, or due by a move this
// replica makes), unless a timer for the same or a newer version is set.
func (d *Durable) adopt(r Row) {
	k := key{r.Kind, r.Key}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	if cur := d.local[k]; cur != nil {
		if cur.version >= r.Version {
			return
		}
		cur.timer.Stop()
	}
	d.arm(k, r.Job, r.Version)
}

// arm sets the timer of a row. The caller holds d.mu; neither clock calls
// the function from AfterFunc itself, so this cannot deadlock with fire.
func (d *Durable) arm(k key, j Job, version int64) {
	d.armAfter(k, j, version, j.Due.Sub(d.clock.Now()))
}

// armAfter sets the timer of a row to fire after wait.
func (d *Durable) armAfter(k key, j Job, version int64, wait time.Duration) {
	e := &local{job: j, version: version}
	d.local[k] = e
	e.timer = d.clock.AfterFunc(wait, func() { d.fire(k, e) })
}

// fire runs a local timer's job if its claim wins.
func (d *Durable) fire(k key, e *local) {
	d.mu.Lock()
	if d.local[k] != e || d.closed {
		d.mu.Unlock()
		return
	}
	delete(d.local, k)
	h, lost := d.handlers[k.kind], d.lost[k.kind]
	d.mu.Unlock()
	ctx := context.Background()
	v, won, err := d.table.Claim(ctx, k.kind, k.key, e.version, d.owner, d.leaseEnd())
	if err != nil {
		// The database did not answer: try again a little later (on the
		// simulated clock, at its next move), unless the key was
		// scheduled again meanwhile.
		d.log.Error("jobs: claim failed; retried", "kind", k.kind, "key", k.key, "err", err)
		d.mu.Lock()
		if !d.closed && d.local[k] == nil {
			d.armAfter(k, e.job, e.version, d.every)
		}
		d.mu.Unlock()
		return
	}
	if !won {
		// Another replica ran it, or it was cancelled or replaced.
		if lost != nil {
			lost(ctx, k.key)
		}
		return
	}
	if h == nil {
		d.log.Error("jobs: no handler for a due job; dropped", "kind", k.kind, "key", k.key)
	} else {
		h(ctx, e.job)
	}
	if err := d.table.DeleteVersion(ctx, k.kind, k.key, v); err != nil {
		d.log.Warn("jobs: a job that ran is still stored; it will run again", "kind", k.kind, "key", k.key, "err", err)
	}
}

// Schedule implements Scheduler: the row first, then the timer.
func (d *Durable) Schedule(ctx context.Context, j Job) error {
	if err := d.ready(j); err != nil {
		return err
	}
	v, err := d.table.Upsert(ctx, j, d.owner, d.leaseEnd(), false)
	if err != nil {
		return err
	}
	k := key{j.Kind, j.Key}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	if cur := d.local[k]; cur != nil {
		if cur.version > v {
			return nil // a later write of the same key won the race here
		}
		cur.timer.Stop()
	}
	d.arm(k, j, v)
	return nil
}

// Keep implements Keeper: the row, owned and running, without a timer.
func (d *Durable) Keep(ctx context.Context, j Job) error {
	if err := d.ready(j); err != nil {
		return err
	}
	if _, err := d.table.Upsert(ctx, j, d.owner, d.leaseEnd(), true); err != nil {
		return err
	}
	d.forget(key{j.Kind, j.Key})
	return nil
}

func (d *Durable) ready(j Job) error {
	if err := check(j); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	if _, ok := d.handlers[j.Kind]; !ok {
		return fmt.Errorf("%w: %s (key %s)", ErrNoHandler, j.Kind, j.Key)
	}
	return nil
}

func (d *Durable) forget(k key) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if cur := d.local[k]; cur != nil {
		cur.timer.Stop()
		delete(d.local, k)
	}
}

// Cancel implements Scheduler.
func (d *Durable) Cancel(ctx context.Context, kind, k string) error {
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return ErrClosed
	}
	d.forget(key{kind, k})
	return d.table.Delete(ctx, kind, k)
}

// Pending implements Scheduler: a row of kind and key waits to run (not
// claimed, nor kept by work in flight). It asks the database, so that it
// sees the other replicas' jobs.
func (d *Durable) Pending(kind, k string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), d.lease)
	defer cancel()
	r, ok, err := d.table.Get(ctx, kind, k)
	if err != nil {
		d.log.Warn("jobs: pending?", "kind", kind, "key", k, "err", err)
		return true // when in doubt, keep what a job may need
	}
	return ok && !r.Running
}

// Mentions implements Keeper.
func (d *Durable) Mentions(kind string, needle []byte) bool {
	ctx, cancel := context.WithTimeout(context.Background(), d.lease)
	defer cancel()
	ok, err := d.table.Mentions(ctx, kind, needle)
	if err != nil {
		d.log.Warn("jobs: mentions?", "kind", kind, "err", err)
		return true
	}
	return ok
}

// Len implements Scheduler: the namespace's rows, every replica's.
func (d *Durable) Len() int {
	ctx, cancel := context.WithTimeout(context.Background(), d.lease)
	defer cancel()
	n, err := d.table.Count(ctx)
	if err != nil {
		d.log.Warn("jobs: count", "err", err)
	}
	return n
}

// Local reports how many timers this replica has set (tests).
func (d *Durable) Local() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.local)
}

// Reset implements Scheduler: the namespace's rows go, every replica's
// (their timers then lose their claims), and this replica's timers stop.
func (d *Durable) Reset(ctx context.Context) error {
	d.mu.Lock()
	list := d.local
	d.local = map[key]*local{}
	d.mu.Unlock()
	for _, e := range list {
		e.timer.Stop()
	}
	return d.table.DeleteAll(ctx)
}

// BeforeMove runs before this replica moves the simulated clock to `to`
// (clock.Sim.BeforeMove): it sets timers for every job of the namespace
// due by then that it has none for — other replicas' included — so that
// the move runs them all in due order, each claimed by version.
func (d *Durable) BeforeMove(to time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), d.lease)
	defer cancel()
	const batch = 10000
	rows, err := d.table.Due(ctx, to, batch)
	if err != nil {
		d.log.Error("jobs: the move does not run other replicas' due jobs", "err", err)
		return
	}
	for _, r := range rows {
		d.adopt(r)
	}
}
