// Package delivery sends what the simulated systems send on their own:
// Genstore's requests to payment apps, CodePay's notifications, the card
// gateway's webhooks. A delivery is one message with a retry policy: every
// attempt sends byte-identical content, waits between attempts come from the
// clock (so `POST /_sim/clock/advance` replays a 48-hour schedule at once),
// and every attempt and outcome goes into the journal.
//
// A Hook wraps every attempt; the fault engine uses it to drop, delay,
// duplicate, reorder or tamper deliveries.
package delivery

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/pspsim/pspsim/simulator/bodies"
	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/jobs"
	"github.com/pspsim/pspsim/simulator/journal"
)

// Request is one outbound message.
type Request struct {
	System string            // the sender: "genstore", "codepay", "vmgateway"
	Kind   string            // what it is: "payment", "capture", "notification", "webhook"
	Method string            // HTTP method; POST when empty
	URL    string            // absolute URL
	Header http.Header       // sent on every attempt
	Body   []byte            // sent byte-identical on every attempt
	IDs    map[string]string // journal ids (shopId, paymentId, orderNo...)
	Tags   map[string]string // fault-matching facts (openapi.Tag* names): shop, app, merchant, terminal, environment

	// Contradict, when set, builds the opposite result of this message (a
	// success notified as a failure), signed exactly like a genuine message,
	// for the fault engine's "contradicting result" action. Only the sending
	// system knows how its messages are signed, so it provides this.
	Contradict func() (Request, bool)
	// Tamper, when set, returns a copy of the message whose signature no
	// longer verifies (the sending system knows where its signature lives),
	// for the fault engine's "tamper the signature" action.
	Tamper func(Request) Request
	// Prepare, when set, runs on each attempt's copy before it is sent (and
	// before the hook), for senders whose signature covers the time of
	// sending: Genstore signs a fresh timestamp into every attempt's query.
	// It must not change the body; the body is restored after it runs, so
	// every attempt still sends byte-identical content.
	Prepare func(r *Request, attempt int)
	// Answered, when set, hears every answer the receiver gives to this
	// message, as sent (r) — the copies a duplicate fault sends included,
	// whose answers Classify never sees — and every attempt that got none
	// (err). Genstore judges each acknowledgement an app gives with it. It
	// must not block.
	Answered func(r *Request, resp *Response, err error)

	// Resume names the resumer the sending system registered (OnResume)
	// that rebuilds what is not data here — Prepare, Tamper, Contradict,
	// Answered, the policy and onDone — from the message as stored, so that
	// a durable backend can keep a pending delivery across a restart and
	// hand it to another replica. Empty: the delivery is not resumable
	// (it dies with the process, as every delivery does with --store memory).
	Resume string
	// ResumeData is what the resumer needs beyond the message itself
	// (Genstore: the operation's kind and id). Stored as is.
	ResumeData []byte
}

// Resumer rebuilds a stored delivery's hooks, policy and onDone (see
// Request.Resume). req holds the stored message: System, Kind, Method,
// URL, Header, Body, IDs, Tags and ResumeData. ok false means the delivery
// is no longer wanted (its object has reached a final state meanwhile).
type Resumer func(ctx context.Context, req Request) (full Request, p Policy, onDone func(*Delivery), ok bool, err error)

// Response is what an attempt got back.
type Response struct {
	Status int
	Header http.Header
	Body   []byte // at most MaxResponseBody bytes
}

// Outcome classifies an attempt.
type Outcome int

const (
	Delivered Outcome = iota // done, successfully
	Retry                    // try again on the schedule
	Final                    // done, unsuccessfully: do not retry (e.g. a 4xx)
)

func (o Outcome) String() string {
	return [...]string{"delivered", "retry", "final"}[o]
}

// Policy says when an attempt succeeded and when to try again.
type Policy struct {
	// Schedule holds the waits between attempts: after attempt i fails,
	// attempt i+1 comes Schedule[i] later. When it runs out, the delivery fails.
	Schedule []time.Duration
	// Timeout bounds each attempt (wall time: it is a network timeout).
	Timeout time.Duration
	// Classify judges an attempt. err is a transport error (no response).
	Classify func(resp *Response, err error) Outcome
}

// Is2xx delivers on any 2xx and retries everything else.
func Is2xx(resp *Response, err error) Outcome {
	if err == nil && resp.Status >= 200 && resp.Status < 300 {
		return Delivered
	}
	return Retry
}

// State is where a delivery stands.
type State string

const (
	Pending State = "pending" // attempts remain
	Done    State = "delivered"
	Failed  State = "failed"  // a final answer, or the schedule ran out
	Stopped State = "stopped" // cancelled before it finished
)

// Attempt records one try.
type Attempt struct {
	N        int           `json:"n"`
	At       time.Time     `json:"at"`
	Status   int           `json:"status,omitempty"`
	Error    string        `json:"error,omitempty"`
	Outcome  string        `json:"outcome"`
	Duration time.Duration `json:"durationNs"`
	Response *Response     `json:"-"`
}

// SendFunc performs one attempt.
type SendFunc func(ctx context.Context, req *Request, attempt int) (*Response, error)

// Hook wraps every attempt. It may change the request (a copy), skip it
// (return an error without calling send), call send more than once, or
// postpone it by returning a *Deferred.
type Hook func(ctx context.Context, req *Request, attempt int, send SendFunc) (*Response, error)

// Deferred is what a Hook returns, as its error, to postpone an attempt
// without blocking: the sender hands Schedule the rest of the attempt (send
// the request as the hook left it, judge the answer, retry on the schedule),
// and the hook's owner runs it when it chooses — a clock timer for a delay,
// after the next delivery for a reorder. Blocking inside the hook instead
// would stall the simulated clock, whose timers run inside Advance.
type Deferred struct {
	Reason   string           // for the journal: "delayed 1m by fault rule r1"
	Schedule func(run func()) // arranges for run to be called once, later
}

func (d *Deferred) Error() string { return "deferred: " + d.Reason }

// MaxResponseBody bounds how much of an answer is read and kept.
const MaxResponseBody = 64 << 10

// Sender sends deliveries. Build one per simulator.
type Sender struct {
	clock   clock.Clock
	journal *journal.Journal
	client  *http.Client
	ctx     context.Context
	cancel  context.CancelFunc

	mu      sync.Mutex
	hook    Hook
	inspect Inspector
	observe Observer
	active  map[*Delivery]struct{}
	// busy counts, per system and id value, the deliveries (and holds) not
	// finished: the store's retention keeps the objects they are about.
	busy  map[busyKey]int
	enter func() (leave func())

	resumers map[string]Resumer
	// keeper keeps resumable deliveries as jobs (nil: the memory backend,
	// whose deliveries are clock timers, as fast as ever); byID finds the
	// live delivery of a job.
	keeper jobs.Keeper
	byID   map[string]*Delivery
	closed bool
}

// AttemptKind is the job kind of a resumable delivery's next attempt.
const AttemptKind = "delivery.attempt"

// SetJobs makes the deliveries whose Request.Resume is set jobs of sched
// when sched keeps jobs durably (a jobs.Keeper): each is a row, written
// before its first attempt and rewritten for each retry, deleted when it
// finishes, so that a restart or another replica resumes it (see
// Resumer). With any other scheduler (the memory backend) nothing
// changes. Call it before the systems are built.
func (s *Sender) SetJobs(sched jobs.Scheduler) {
	k, ok := sched.(jobs.Keeper)
	if !ok {
		return
	}
	s.mu.Lock()
	s.keeper = k
	s.byID = map[string]*Delivery{}
	s.mu.Unlock()
	k.Handle(AttemptKind, s.runAttempt)
	k.HandleLost(AttemptKind, s.handedOver)
}

// handedOver lets go of the live delivery whose job another replica ran
// (the one that moved the simulated clock, or one that took over the
// lease): that replica goes on with it, so this one stops counting it —
// without deleting its row, and without onDone, which the replica that
// finishes it runs.
func (s *Sender) handedOver(_ context.Context, id string) {
	s.mu.Lock()
	d := s.byID[id]
	delete(s.byID, id)
	s.mu.Unlock()
	if d == nil {
		return
	}
	d.mu.Lock()
	if d.state != Pending || d.id != id {
		d.mu.Unlock()
		return
	}
	d.id = ""
	d.state = Stopped
	if d.timer != nil {
		d.timer.Stop()
	}
	close(d.done)
	d.mu.Unlock()
	s.mu.Lock()
	delete(s.active, d)
	s.markBusy(d.req.System, d.about, -1)
	s.mu.Unlock()
	s.record("delivery.handed-over", d, fmt.Sprintf("%s %s continues on another replica", d.req.Kind, d.req.URL), map[string]any{})
}

// stored is a resumable delivery's job payload: the message as data and
// the attempt the job makes.
type stored struct {
	System     string            `json:"system"`
	Kind       string            `json:"kind"`
	Method     string            `json:"method"`
	URL        string            `json:"url"`
	Header     http.Header       `json:"header,omitempty"`
	Body       []byte            `json:"body,omitempty"`
	IDs        map[string]string `json:"ids,omitempty"`
	Tags       map[string]string `json:"tags,omitempty"`
	Resume     string            `json:"resume"`
	ResumeData []byte            `json:"resumeData,omitempty"`
	Attempt    int               `json:"attempt"`
}

// job is d's row for attempt n, due at due.
func (d *Delivery) job(n int, due time.Time) (jobs.Job, error) {
	r := d.req
	b, err := json.Marshal(stored{System: r.System, Kind: r.Kind, Method: r.Method, URL: r.URL, Header: r.Header, Body: r.Body,
		IDs: r.IDs, Tags: r.Tags, Resume: r.Resume, ResumeData: r.ResumeData, Attempt: n})
	if err != nil {
		return jobs.Job{}, fmt.Errorf("delivery %s: encode: %w", d.id, err)
	}
	return jobs.Job{Kind: AttemptKind, Key: d.id, Due: due, Payload: b}, nil
}

// keep writes d's row for attempt n as work in flight here (no timer: a
// crash hands it on). false: the row could not be written, and d goes on
// in memory only.
func (d *Delivery) keep(n int) bool {
	j, err := d.job(n, d.sender.clock.Now())
	if err == nil {
		err = d.sender.keeper.Keep(context.Background(), j)
	}
	return d.written(err)
}

// schedule writes d's row for attempt n at due, whose job makes the attempt.
func (d *Delivery) schedule(n int, due time.Time) bool {
	j, err := d.job(n, due)
	if err == nil {
		err = d.sender.keeper.Schedule(context.Background(), j)
	}
	return d.written(err)
}

// written reports whether a row was written; when it was not, the delivery
// stops being a job (it goes on in memory, as with the memory backend).
func (d *Delivery) written(err error) bool {
	if err == nil {
		return true
	}
	if !errors.Is(err, jobs.ErrClosed) {
		d.sender.record("delivery.volatile", d, fmt.Sprintf("%s %s is no longer stored (%v): a restart will not resume it", d.req.Kind, d.req.URL, err), map[string]any{})
	}
	d.mu.Lock()
	id := d.id
	d.id = ""
	d.mu.Unlock()
	s := d.sender
	s.mu.Lock()
	if s.byID[id] == d {
		delete(s.byID, id)
	}
	s.mu.Unlock()
	return false
}

// runAttempt is the job of a resumable delivery's attempt: the live
// delivery's when this process has it, else one rebuilt by its resumer
// (after a restart, a takeover, or for the replica that moves the clock).
func (s *Sender) runAttempt(ctx context.Context, j jobs.Job) {
	var st stored
	if err := json.Unmarshal(j.Payload, &st); err != nil || st.Attempt < 1 {
		s.journalf(st.System, "delivery.unresumable", "a stored delivery could not be read (%v); dropped", err)
		return
	}
	s.mu.Lock()
	d := s.byID[j.Key]
	s.mu.Unlock()
	if d == nil {
		req := Request{System: st.System, Kind: st.Kind, Method: st.Method, URL: st.URL, Header: st.Header, Body: st.Body,
			IDs: st.IDs, Tags: st.Tags, Resume: st.Resume, ResumeData: st.ResumeData}
		r, ok := s.resumer(st.Resume)
		if !ok {
			s.journalf(st.System, "delivery.unresumable", "a stored %s to %s names no resumer %q; dropped", st.Kind, st.URL, st.Resume)
			return
		}
		full, p, onDone, ok, err := r(ctx, req)
		if err != nil {
			s.journalf(st.System, "delivery.unresumable", "a stored %s to %s could not be resumed (%v); dropped", st.Kind, st.URL, err)
			return
		}
		if !ok {
			return // its object has moved on
		}
		// What is data stays as stored: the resumer rebuilds hooks.
		full.System, full.Kind, full.Method, full.URL, full.Header, full.Body = req.System, req.Kind, req.Method, req.URL, req.Header, req.Body
		full.IDs, full.Tags, full.Resume, full.ResumeData = req.IDs, req.Tags, req.Resume, req.ResumeData
		d = s.newDelivery(full, p, onDone, j.Key)
		s.record("delivery.resumed", d, fmt.Sprintf("%s %s resumed at attempt %d", d.req.Kind, d.req.URL, st.Attempt), map[string]any{"attempt": st.Attempt})
	}
	d.attempt(st.Attempt)
}

// journalf records a delivery event that has no Delivery.
func (s *Sender) journalf(system, kind, format string, args ...any) {
	if s.journal == nil {
		return
	}
	if system == "" {
		system = "sim"
	}
	s.journal.Record(journal.Event{System: system, Kind: kind, Message: fmt.Sprintf(format, args...)})
}

// OnResume registers the resumer named name (see Request.Resume). Systems
// call it while they are built.
func (s *Sender) OnResume(name string, r Resumer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.resumers == nil {
		s.resumers = map[string]Resumer{}
	}
	s.resumers[name] = r
}

// resumer returns the resumer named name.
func (s *Sender) resumer(name string) (Resumer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.resumers[name]
	return r, ok
}

// SetGate makes the first attempts that Start runs on their own goroutine
// enter the simulator's gate (see package gate) first, as requests and
// timers do, so that a reset never happens in the middle of one. Attempts
// made by Send run in their caller's pass; later attempts in a timer's.
func (s *Sender) SetGate(enter func() (leave func())) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.enter = enter
}

type busyKey struct{ system, id string }

// Inspector sees every answer a receiver gives, raw, before it is judged:
// copies sent by a duplicate fault included. The canary registry uses it to
// find card numbers in what an app answers.
type Inspector func(req *Request, resp *Response)

// Observer learns how each attempt was judged (the metrics count them). It
// runs in the attempt's goroutine and must be quick.
type Observer func(req *Request, outcome Outcome)

// SetObserver installs the observer (nil removes it).
func (s *Sender) SetObserver(f Observer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.observe = f
}

// SetInspector installs the inspector (nil removes it).
func (s *Sender) SetInspector(f Inspector) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inspect = f
}

// NewSender returns a sender using c for schedules and j for the record.
// client may be nil (a default client is used; timeouts come from policies).
func NewSender(c clock.Clock, j *journal.Journal, client *http.Client) *Sender {
	if client == nil {
		client = &http.Client{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Sender{clock: c, journal: j, client: client, ctx: ctx, cancel: cancel, active: map[*Delivery]struct{}{}, busy: map[busyKey]int{}}
}

// SetHook installs the hook that wraps every attempt (nil removes it).
func (s *Sender) SetHook(h Hook) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = h
}

// Delivery is one message on its way.
type Delivery struct {
	sender *Sender
	req    Request
	policy Policy
	onDone func(*Delivery)

	about []string // the values of req.IDs, counted busy while pending
	// id is the key of the delivery's job (Sender.SetJobs), "" when it is
	// not one (guarded by mu).
	id string

	mu    sync.Mutex
	state State
	// started: the first attempt was made (or the delivery discarded); a
	// prepared delivery waits for Go.
	started  bool
	attempts []Attempt
	timer    clock.Timer
	done     chan struct{}
}

// Send makes the first attempt now, in the caller's goroutine, and schedules
// the others on the clock. onDone (may be nil) runs once when the delivery is
// delivered, fails or is stopped.
func (s *Sender) Send(req Request, p Policy, onDone func(*Delivery)) *Delivery {
	d := s.Prepare(req, p, onDone)
	d.Go()
	return d
}

// Prepare registers a delivery without attempting it, and writes its row
// when it is resumable and the sender keeps jobs. It is for a delivery about
// an object not stored yet: prepared first, the object stored next, then
// Go. A crash between the two leaves a row whose resumer finds no object
// (and drops it) or the object (and sends it) — never an object stored
// with its delivery lost. Discard it if the object is not stored.
func (s *Sender) Prepare(req Request, p Policy, onDone func(*Delivery)) *Delivery {
	d := s.newDelivery(req, p, onDone, "")
	if d.jobID() != "" {
		d.keep(1) // before the attempt: a crash during it resumes it
	}
	return d
}

// Go makes a prepared delivery's first attempt now, in the caller's
// goroutine, and schedules the others on the clock. It does nothing to a
// delivery already attempted, stopped or discarded.
func (d *Delivery) Go() {
	d.mu.Lock()
	started := d.started
	d.started = true
	d.mu.Unlock()
	if !started {
		d.attempt(1)
	}
}

// Discard drops a prepared delivery whose object was not stored: its row
// goes, and nothing is attempted, journaled or reported to onDone (there
// is nothing it was about).
func (d *Delivery) Discard() {
	d.mu.Lock()
	if d.state != Pending || d.started {
		d.mu.Unlock()
		return
	}
	d.started = true
	d.state = Stopped
	close(d.done)
	d.mu.Unlock()
	s := d.sender
	if id := d.unlist(); id != "" {
		if err := s.keeper.Cancel(context.Background(), AttemptKind, id); err != nil && !errors.Is(err, jobs.ErrClosed) {
			// Its resumer finds no object and drops it.
			s.journalf(d.req.System, "delivery.volatile", "a discarded %s to %s keeps its row (%v): its resumer will drop it", d.req.Kind, d.req.URL, err)
		}
	}
}

// StartAt is Start with the first attempt held back until due on the clock
// (a webhook or notification a test card delays). The delivery is pending
// — and its ids busy — from now; a resumable one is a job from now.
func (s *Sender) StartAt(due time.Time, req Request, p Policy, onDone func(*Delivery)) *Delivery {
	d := s.newDelivery(req, p, onDone, "")
	if d.jobID() != "" && d.schedule(1, due) {
		return d
	}
	d.mu.Lock()
	if d.state == Pending {
		d.timer = s.clock.AfterFunc(due.Sub(s.clock.Now()), func() { d.attempt(1) })
	}
	d.mu.Unlock()
	return d
}

func (d *Delivery) jobID() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.id
}

// Start is Send with the first attempt in a new goroutine, for callers (such
// as an HTTP handler) that must not wait for the receiver.
func (s *Sender) Start(req Request, p Policy, onDone func(*Delivery)) *Delivery {
	d := s.newDelivery(req, p, onDone, "")
	if d.jobID() != "" {
		d.keep(1) // before the answer: a crash during the attempt resumes it
	}
	s.mu.Lock()
	enter := s.enter
	s.mu.Unlock()
	go func() {
		if enter != nil {
			defer enter()()
		}
		d.attempt(1) // stopped by a reset meanwhile: it does nothing
	}()
	return d
}

// newDelivery registers a delivery. id is its job's key when it is resumed
// from one; "" draws a new key when the delivery is resumable and the
// sender keeps jobs.
func (s *Sender) newDelivery(req Request, p Policy, onDone func(*Delivery), id string) *Delivery {
	if req.Method == "" {
		req.Method = http.MethodPost
	}
	if p.Classify == nil {
		p.Classify = Is2xx
	}
	if p.Timeout <= 0 {
		p.Timeout = 10 * time.Second
	}
	d := &Delivery{sender: s, req: req, policy: p, onDone: onDone, state: Pending, done: make(chan struct{}), about: idValues(req.IDs)}
	s.mu.Lock()
	s.active[d] = struct{}{}
	s.markBusy(req.System, d.about, 1)
	if s.keeper != nil && req.Resume != "" {
		if id == "" {
			id = newID()
		}
		d.id = id
		s.byID[id] = d
	}
	s.mu.Unlock()
	return d
}

// newID draws a delivery's job key: 16 random bytes in hex, unique across
// replicas without coordination.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// idValues snapshots the values of ids (the caller's map may change later).
func idValues(ids map[string]string) []string {
	out := make([]string, 0, len(ids))
	for _, v := range ids {
		out = append(out, v)
	}
	return out
}

// markBusy counts n more (or fewer) pending messages about ids. The caller
// holds s.mu.
func (s *Sender) markBusy(system string, ids []string, n int) {
	for _, v := range ids {
		k := busyKey{system, v}
		if c := s.busy[k] + n; c > 0 {
			s.busy[k] = c
		} else {
			delete(s.busy, k)
		}
	}
}

// Busy reports whether a message of system about id (any of its ids' values:
// a tradeNo, a trans_no, a paymentId) is on its way or held back. The
// store's retention asks it before dropping an object.
//
// With a durable scheduler it also asks the job table, so that one
// replica's retention does not drop an object another replica has a
// resumable delivery pending about (its ids are in the job's payload).
func (s *Sender) Busy(system, id string) bool {
	s.mu.Lock()
	busy := s.busy[busyKey{system, id}] > 0
	keeper := s.keeper
	s.mu.Unlock()
	if busy || keeper == nil {
		return busy
	}
	needle, err := json.Marshal(id) // as it appears among the payload's ids
	if err != nil {
		return true
	}
	return keeper.Mentions(AttemptKind, needle)
}

// Hold marks ids busy until release is called, for a message a system holds
// back on a clock timer before sending it.
func (s *Sender) Hold(system string, ids map[string]string) (release func()) {
	about := idValues(ids)
	s.mu.Lock()
	s.markBusy(system, about, 1)
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.markBusy(system, about, -1)
			s.mu.Unlock()
		})
	}
}

// Request returns the message (do not modify it).
func (d *Delivery) Request() Request { return d.req }

// State returns the delivery's state.
func (d *Delivery) State() State {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.state
}

// Attempts returns a copy of the attempts so far.
func (d *Delivery) Attempts() []Attempt {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Attempt(nil), d.attempts...)
}

// Last returns the latest attempt, if any.
func (d *Delivery) Last() (Attempt, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.attempts) == 0 {
		return Attempt{}, false
	}
	return d.attempts[len(d.attempts)-1], true
}

// Done is closed when the delivery is delivered, fails or is stopped.
func (d *Delivery) Done() <-chan struct{} { return d.done }

// Wait blocks until the delivery finishes or ctx ends.
func (d *Delivery) Wait(ctx context.Context) error {
	select {
	case <-d.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stop cancels the remaining attempts (e.g. once the answer came another
// way). It reports whether the delivery was still pending.
func (d *Delivery) Stop() bool {
	d.mu.Lock()
	if d.state != Pending {
		d.mu.Unlock()
		return false
	}
	if d.timer != nil {
		d.timer.Stop()
	}
	d.mu.Unlock()
	d.finish(Stopped, "stopped before it finished")
	return true
}

func (d *Delivery) attempt(n int) {
	if !d.pending() {
		return
	}
	s := d.sender
	start := time.Now() // wall time: how long the network took, not domain time
	at := s.clock.Now()
	s.mu.Lock()
	hook := s.hook
	s.mu.Unlock()
	req := d.req // a copy per attempt: hooks may change their copy
	req.Header = d.req.Header.Clone()
	// Prepare re-signs each attempt (a fresh timestamp), the body unchanged.
	prepare := func(r *Request) {
		if d.req.Prepare != nil {
			d.req.Prepare(r, n)
			r.Body = d.req.Body
		}
	}
	prepare(&req)
	send := s.send(d.policy.Timeout)
	if hook == nil {
		resp, err := send(s.ctx, &req, n)
		d.judge(n, at, start, resp, err)
		return
	}
	resp, err := hook(s.ctx, &req, n, send)
	var def *Deferred
	if errors.As(err, &def) {
		s.record("delivery.deferred", d, fmt.Sprintf("%s %s attempt %d deferred: %s", d.req.Kind, d.req.URL, n, def.Reason), map[string]any{
			"attempt": n, "reason": def.Reason,
		})
		if d.jobID() != "" {
			// The deferred attempt waits in memory (a fault's timer or
			// queue); its row stays, kept, so that a crash meanwhile
			// makes the attempt after the restart or on another replica.
			d.keep(n)
		}
		def.Schedule(func() {
			if !d.pending() {
				return // stopped (reset) while it waited
			}
			start, at := time.Now(), s.clock.Now()
			prepare(&req) // signed when it is really sent, not when it was deferred
			resp, err := send(s.ctx, &req, n)
			d.judge(n, at, start, resp, err)
		})
		return
	}
	d.judge(n, at, start, resp, err)
}

func (d *Delivery) pending() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.state == Pending
}

// judge classifies an attempt's result, records it, and finishes the
// delivery or schedules the next attempt on the clock.
func (d *Delivery) judge(n int, at, start time.Time, resp *Response, err error) {
	s := d.sender
	outcome := d.policy.Classify(resp, err)
	s.mu.Lock()
	observe := s.observe
	s.mu.Unlock()
	if observe != nil {
		observe(&d.req, outcome)
	}
	a := Attempt{N: n, At: at, Outcome: outcome.String(), Duration: time.Since(start), Response: resp}
	if err != nil {
		a.Error = err.Error()
	} else {
		a.Status = resp.Status
	}
	d.mu.Lock()
	d.attempts = append(d.attempts, a)
	d.mu.Unlock()
	data := map[string]any{
		"attempt": n, "status": a.Status, "error": a.Error, "outcome": a.Outcome, "durationMs": a.Duration.Milliseconds(),
	}
	// What was sent (byte-identical on every attempt, so kept once) and
	// what came back, masked and bounded, for the dashboard's timeline.
	if n == 1 {
		if b := bodies.Of(d.req.Body); b != nil {
			data["request"] = b
		}
	}
	if resp != nil {
		if b := bodies.Of(resp.Body); b != nil {
			data["answer"] = b
		}
	}
	s.record("delivery.attempt", d, fmt.Sprintf("%s %s attempt %d: %s", d.req.Kind, d.req.URL, n, describe(a)), data)
	switch outcome {
	case Delivered:
		d.finish(Done, "delivered")
	case Final:
		d.finish(Failed, "final answer, not retried")
	default:
		if n-1 >= len(d.policy.Schedule) {
			d.finish(Failed, fmt.Sprintf("gave up after %d attempts", n))
			return
		}
		wait := d.policy.Schedule[n-1]
		if d.jobID() != "" && d.pending() && d.schedule(n+1, s.clock.Now().Add(wait)) {
			// The job makes the next attempt (runAttempt finds d live).
		} else {
			d.mu.Lock()
			if d.state == Pending {
				d.timer = s.clock.AfterFunc(wait, func() { d.attempt(n + 1) })
			}
			d.mu.Unlock()
		}
		s.record("delivery.scheduled", d, fmt.Sprintf("%s %s: attempt %d in %s", d.req.Kind, d.req.URL, n+1, wait), map[string]any{
			"attempt": n + 1, "in": wait.String(), "at": at.Add(wait),
		})
	}
}

func describe(a Attempt) string {
	if a.Error != "" {
		return a.Error + " → " + a.Outcome
	}
	return fmt.Sprintf("HTTP %d → %s", a.Status, a.Outcome)
}

// unlist takes a delivery that has just ended off its sender's books: no
// longer active, its object no longer busy, its job no longer live here. It
// returns the job id whose row should now go: "" when it has no job, or when
// the sender has closed (the rows stay, for the restart or another replica
// to resume).
func (d *Delivery) unlist() string {
	s := d.sender
	id := d.jobID()
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.active, d)
	s.markBusy(d.req.System, d.about, -1)
	if id != "" {
		delete(s.byID, id)
	}
	if s.closed {
		return ""
	}
	return id
}

func (d *Delivery) finish(state State, why string) {
	d.mu.Lock()
	if d.state != Pending {
		d.mu.Unlock()
		return
	}
	d.state = state
	close(d.done)
	d.mu.Unlock()
	s := d.sender
	if id := d.unlist(); id != "" {
		// Finished: its row goes.
		if err := s.keeper.Cancel(context.Background(), AttemptKind, id); err != nil && !errors.Is(err, jobs.ErrClosed) {
			s.record("delivery.volatile", d, fmt.Sprintf("%s %s: its finished job could not be deleted (%v): it may be sent again", d.req.Kind, d.req.URL, err), map[string]any{})
		}
	}
	s.record("delivery."+string(state), d, fmt.Sprintf("%s %s %s: %s", d.req.Kind, d.req.URL, state, why), map[string]any{"attempts": len(d.Attempts())})
	if d.onDone != nil {
		d.onDone(d)
	}
}

func (s *Sender) record(kind string, d *Delivery, msg string, data map[string]any) {
	if s.journal == nil {
		return
	}
	data["deliveryKind"] = d.req.Kind
	data["url"] = d.req.URL
	s.journal.Record(journal.Event{System: d.req.System, Kind: kind, IDs: d.req.IDs, Message: msg, Data: data})
}

// send returns the plain HTTP attempt.
func (s *Sender) send(timeout time.Duration) SendFunc {
	return func(ctx context.Context, req *Request, _ int) (*Response, error) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		var body io.Reader
		if req.Body != nil {
			body = bytes.NewReader(req.Body)
		}
		hr, err := http.NewRequestWithContext(ctx, req.Method, req.URL, body)
		if err != nil {
			return nil, fmt.Errorf("build request: %w", err)
		}
		for k, v := range req.Header {
			hr.Header[k] = v
		}
		resp, err := s.do(hr, timeout)
		if req.Answered != nil {
			req.Answered(req, resp, err)
		}
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		inspect := s.inspect
		s.mu.Unlock()
		if inspect != nil {
			inspect(req, resp)
		}
		return resp, nil
	}
}

// do makes one HTTP exchange and reads the answer (at most MaxResponseBody).
func (s *Sender) do(hr *http.Request, timeout time.Duration) (*Response, error) {
	res, err := s.client.Do(hr)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("no answer within %s", timeout)
		}
		return nil, fmt.Errorf("transport: %w", unwrapURLError(err))
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, MaxResponseBody))
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	return &Response{Status: res.StatusCode, Header: res.Header, Body: b}, nil
}

func unwrapURLError(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

// Pending returns how many deliveries have not finished.
func (s *Sender) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.active)
}

// StopAll stops every pending delivery (simulator reset).
func (s *Sender) StopAll() {
	s.mu.Lock()
	list := make([]*Delivery, 0, len(s.active))
	for d := range s.active {
		list = append(list, d)
	}
	s.mu.Unlock()
	for _, d := range list {
		d.Stop()
	}
}

// Close stops every delivery and aborts attempts in flight. The rows of
// resumable deliveries stay: a restart or another replica resumes them.
func (s *Sender) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.StopAll()
	s.cancel()
}
