package genstore

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/pspsim/pspsim/simulator/delivery"
	"github.com/pspsim/pspsim/simulator/jobs"
)

// liveOps holds what runs on behalf of an operation outside any request:
// its delivery (attempts and retries) and its jobs (deadline,
// reconciliation polls, expiry; see jobs.go). A final result stops them; a
// simulator reset stops them all (the simulator resets its scheduler and
// sender; reset here forgets the handles). The state itself is in the
// store; the deliveries here are only the handles that let them be stopped,
// and the jobs are named by the operation, so that a durable scheduler's
// jobs — scheduled by another process, or before a restart — are cancelled
// as well.
type liveOps struct {
	jobs jobs.Scheduler
	// polls is how many reconciliation polls an operation has (the
	// settings'), to name every poll job of an operation.
	polls int

	mu         sync.Mutex
	deliveries map[string]*delivery.Delivery
}

func newLiveOps(j jobs.Scheduler, polls int) *liveOps {
	return &liveOps{jobs: j, polls: polls, deliveries: map[string]*delivery.Delivery{}}
}

// jobRef names one pending job.
type jobRef struct{ kind, key string }

// jobsOf lists every job an operation may have pending: its deadlines (from
// the first attempt and from the buyer's return), its reconciliation polls
// and, for a payment, its expiry.
func (l *liveOps) jobsOf(kind, shopID, id string) []jobRef {
	refs := []jobRef{
		{deadlineKind(kind), jobKey(shopID, id, stepFirst)},
		{deadlineKind(kind), jobKey(shopID, id, stepReturn)},
	}
	if polled(kind) {
		for n := 1; n <= l.polls; n++ {
			refs = append(refs, jobRef{pollKind(kind), jobKey(shopID, id, strconv.Itoa(n))})
		}
	}
	if kind == KindPayment {
		refs = append(refs, jobRef{expireKind, jobKey(shopID, id, "")})
	}
	return refs
}

// track remembers an operation's delivery so that a final result can stop
// its retries.
func (l *liveOps) track(key string, d *delivery.Delivery) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.deliveries[key] = d
}

// stop stops an operation's delivery and cancels its jobs. The attempt in
// flight, if any, completes (and its acknowledgement is still recorded).
func (l *liveOps) stop(ctx context.Context, kind, shopID, id string) error {
	l.stopDelivery(opKey(kind, shopID, id))
	var first error
	for _, r := range l.jobsOf(kind, shopID, id) {
		if err := l.jobs.Cancel(ctx, r.kind, r.key); err != nil && first == nil {
			first = fmt.Errorf("cancel %s %s: %w", r.kind, r.key, err)
		}
	}
	return first
}

// stopDelivery stops only the retries of an operation (the final result came
// another way) and keeps its jobs.
func (l *liveOps) stopDelivery(key string) {
	l.mu.Lock()
	d := l.deliveries[key]
	delete(l.deliveries, key)
	l.mu.Unlock()
	if d != nil {
		d.Stop()
	}
}

// untrack forgets an operation's delivery without stopping it (it is
// finishing on its own).
func (l *liveOps) untrack(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.deliveries, key)
}

// reset forgets every delivery handle. The deliveries themselves and the
// jobs are stopped by the simulator's reset (Sender.StopAll, Scheduler.Reset)
// before the systems reset.
func (l *liveOps) reset() {
	l.mu.Lock()
	l.deliveries = map[string]*delivery.Delivery{}
	l.mu.Unlock()
}

// busy reports whether the operation has a delivery or a job pending (the
// store's retention keeps its payment).
func (l *liveOps) busy(kind, shopID, id string) bool {
	l.mu.Lock()
	d := l.deliveries[opKey(kind, shopID, id)]
	l.mu.Unlock()
	if d != nil {
		return true
	}
	for _, r := range l.jobsOf(kind, shopID, id) {
		if l.jobs.Pending(r.kind, r.key) {
			return true
		}
	}
	return false
}
