package conformance

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pspsim/pspsim/simulator/genstore"
	"github.com/pspsim/pspsim/simulator/pan"
)

// world is one scenario's state. The Before hook gives every scenario a
// fresh one with a fresh shop; it travels in the context, so steps share
// nothing else.
type world struct {
	h    *Harness
	name string
	tags map[string]bool
	// start is the journal's last sequence number when the scenario began:
	// the events after it are this scenario's.
	start int64

	shopID, shopName string
	live             bool
	reinstalled      bool
	code             string // the latest installation code
	installs         int    // installations the merchant made in this scenario

	paymentID string
	amount    string
	currency  string
	card      string // the number paid with (a test card or the canary)
	cardRow   string // its TESTCARDS.md row, when it is a magic card
	ops       map[string]string
	vector    *vector
	canary    string
	// cards are every card number the scenario paid with, registered with
	// the simulator's canary registry: none may appear where card data must
	// not (finalChecks).
	cards []string
	// answers are the app's answers to the suite's own requests, searched
	// for the cards too: they never pass through the simulator.
	answers []*answer
	// reqSeq caches the journal sequence number of Genstore's request of
	// each operation ("payment/PI…").
	reqSeq map[string]int64
	// quietSeq and quietSince are the newest journal sequence number the
	// world has seen and when it first saw it: settle counts quiet from then.
	quietSeq   int64
	quietSince time.Time

	// rules are the fault rules the scenario installed.
	rules []string

	// direct is the app's answer to the suite's latest direct request.
	direct *answer
	// directPaymentID is the id of a payment the suite sent the app itself.
	directPaymentID string
	// query is what the suite learnt when it asked the app about an operation.
	query *queryCheck
}

type queryCheck struct {
	kind, id string
	path     string
	ans      answer
	poll     *gsPoll
}

type worldKey struct{}

// worldIn returns the scenario's world, if the Before hook made one (the
// After hook runs even when it did not).
func worldIn(ctx context.Context) (*world, bool) {
	w, ok := ctx.Value(worldKey{}).(*world)
	return w, ok
}

// mustWorld returns the scenario's world for a step. The Before hook puts one
// in every scenario's context before any step runs (and a scenario whose hook
// failed runs none), so a missing world is a bug of the suite, never of the
// app: it panics, which godog reports as the step's failure, rather than
// every step checking for it.
func mustWorld(ctx context.Context) *world {
	w, ok := worldIn(ctx)
	if !ok {
		panic("conformance: no scenario world in the context: the Before hook did not run")
	}
	return w
}

// newWorld creates the scenario's shop (test mode, USD) and notes where the
// journal stands.
func (h *Harness) newWorld(ctx context.Context, name string, tags []string) (*world, error) {
	start, err := h.lastSeq(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the journal: %w", err)
	}
	n := h.shops.Add(1)
	w := &world{h: h, name: name, start: start, ops: map[string]string{}, tags: map[string]bool{}, reqSeq: map[string]int64{}}
	for _, t := range tags {
		w.tags[strings.TrimPrefix(t, "@")] = true
	}
	w.shopID = fmt.Sprintf("c%s%04d", h.run, n)
	w.shopName = "conformance-" + w.shopID
	shop := map[string]any{"shopId": w.shopID, "shop": w.shopName, "name": truncate("conformance: "+name, 120), "currency": "USD", "testMode": true}
	if err := h.admin(ctx, "POST", "/_sim/genstore/shops", shop, http.StatusCreated, nil); err != nil {
		return nil, fmt.Errorf("creating the scenario's shop: %w", err)
	}
	return w, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// shopPath is the admin path of the scenario's shop.
func (w *world) shopPath() string { return "/_sim/genstore/shops/" + url.PathEscape(w.shopID) }

// ---------------------------------------------------------------- Genstore's view

type gsOutbound struct {
	State      string `json:"state"`
	Attempts   int    `json:"attempts"`
	LastStatus int    `json:"lastStatus"`
	LastError  string `json:"lastError"`
}

type gsAck struct {
	ChannelID   string `json:"channelId"`
	Error       string `json:"error"`
	RedirectURL string `json:"redirectUrl"`
	Malformed   string `json:"malformed"`
}

type gsResult struct {
	Result    bool   `json:"result"`
	Reason    string `json:"reason"`
	ChannelID string `json:"channelId"`
	Source    string `json:"source"`
}

type gsPoll struct {
	Status    string `json:"status"`
	ChannelID string `json:"channelId"`
	HTTP      int    `json:"http"`
	Error     string `json:"error"`
	Applied   bool   `json:"applied"`
}

type gsOperation struct {
	Kind           string     `json:"kind"`
	ID             string     `json:"id"`
	Amount         string     `json:"amount"`
	Status         string     `json:"status"`
	Request        gsOutbound `json:"request"`
	Ack            *gsAck     `json:"ack"`
	Result         *gsResult  `json:"result"`
	Reconciliation []gsPoll   `json:"reconciliation"`
	DeadlineMissed bool       `json:"deadlineMissed"`
}

type gsPayment struct {
	PaymentID     string     `json:"paymentId"`
	Amount        string     `json:"amount"`
	Currency      string     `json:"currency"`
	ManualCapture bool       `json:"manualCapture"`
	Test          bool       `json:"test"`
	Status        string     `json:"status"`
	StatusName    string     `json:"statusName"`
	Request       gsOutbound `json:"request"`
	Ack           *gsAck     `json:"ack"`
	Result        *gsResult  `json:"result"`
	Captured      string     `json:"captured"`
	Refunded      string     `json:"refunded"`
	Buyer         struct {
		RedirectFetchedAt *time.Time `json:"redirectFetchedAt"`
		Challenge         string     `json:"challenge"`
		ReturnedAt        *time.Time `json:"returnedAt"`
	} `json:"buyer"`
	Reconciliation []gsPoll      `json:"reconciliation"`
	DeadlineMissed bool          `json:"deadlineMissed"`
	Operations     []gsOperation `json:"operations"`
}

// op returns an operation of the payment by kind and id.
func (p gsPayment) op(kind, id string) *gsOperation {
	for i := range p.Operations {
		if p.Operations[i].Kind == kind && p.Operations[i].ID == id {
			return &p.Operations[i]
		}
	}
	return nil
}

// payment reads Genstore's view of the scenario's payment.
func (w *world) payment(ctx context.Context) (gsPayment, error) {
	if w.paymentID == "" {
		return gsPayment{}, errors.New("no payment yet in this scenario: a buyer must pay first")
	}
	var p gsPayment
	err := w.h.admin(ctx, "GET", w.shopPath()+"/payments/"+url.PathEscape(w.paymentID), nil, http.StatusOK, &p)
	return p, err
}

// outcome is where one operation (the payment, or a capture, void or
// refund of it) stands at Genstore.
type outcome struct {
	kind, id string
	request  gsOutbound
	ack      *gsAck
	result   *gsResult
	payment  gsPayment
}

// paymentOutcome is where the payment itself stands.
func paymentOutcome(p gsPayment) outcome {
	return outcome{kind: genstore.KindPayment, id: p.PaymentID, request: p.Request, ack: p.Ack, result: p.Result, payment: p}
}

// outcomeOf reads where the scenario's payment, or its latest operation of a
// kind, stands at Genstore.
func (w *world) outcomeOf(ctx context.Context, kind string) (outcome, error) {
	p, err := w.payment(ctx)
	if err != nil {
		return outcome{}, err
	}
	if kind == genstore.KindPayment {
		return paymentOutcome(p), nil
	}
	id := w.ops[kind]
	if id == "" {
		return outcome{}, fmt.Errorf("no %s yet in this scenario", kind)
	}
	o := p.op(kind, id)
	if o == nil {
		return outcome{}, fmt.Errorf("Genstore shows no %s %s on payment %s", kind, id, p.PaymentID)
	}
	return outcome{kind: kind, id: id, request: o.Request, ack: o.Ack, result: o.Result, payment: p}, nil
}

// ---------------------------------------------------------------- waiting

// errWaited is returned by waitFor when the wait ran out.
var errWaited = errors.New("the wait ran out")

// waitFor polls check until it reports done, or the wait d (wall time) runs out.
func (w *world) waitFor(ctx context.Context, d time.Duration, check func() (bool, error)) error {
	deadline := time.Now().Add(d)
	for {
		done, err := check()
		if err != nil || done {
			return err
		}
		if time.Now().After(deadline) {
			return errWaited
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(w.h.Timing.Poll):
		}
	}
}

// settle waits until the journal has been quiet for Timing.Quiet (bounded by
// ResultWait): what the app does in reaction to the last step has happened.
// Quiet counts from when the world first saw the journal's newest event, so
// that two settles in a row cost one quiet period, not two.
func (w *world) settle(ctx context.Context) error {
	err := w.waitFor(ctx, w.h.Timing.ResultWait, func() (bool, error) {
		seq, err := w.h.lastSeq(ctx)
		if err != nil {
			return false, err
		}
		if seq != w.quietSeq {
			w.quietSeq, w.quietSince = seq, time.Now()
			return false, nil
		}
		return time.Since(w.quietSince) >= w.h.Timing.Quiet, nil
	})
	if errors.Is(err, errWaited) {
		return nil // never quiet: judge what there is
	}
	return err
}

// myEvents returns this scenario's events with the given filters.
func (w *world) myEvents(ctx context.Context, filters ...string) ([]Event, error) {
	return w.h.events(ctx, w.start, filters...)
}

// settledEvents waits until the app is quiet, then returns this scenario's
// events with the given filters: the steps that judge that something never
// happened must first give it every chance to.
func (w *world) settledEvents(ctx context.Context, filters ...string) ([]Event, error) {
	if err := w.settle(ctx); err != nil {
		return nil, err
	}
	return w.myEvents(ctx, filters...)
}

// refusals returns Genstore's refusals of the app's callbacks about an
// operation of this scenario (kind and id), oldest first.
func (w *world) refusals(ctx context.Context, kind, id string) ([]Event, error) {
	// A refused capture, void or refund callback names its payment too.
	return w.callbackEvents(ctx, "callback.refused", kind, id, func(e Event) bool {
		return e.IDs["captureId"] != "" || e.IDs["voidId"] != "" || e.IDs["refundId"] != ""
	})
}

// callbacks returns the callbacks Genstore took about an operation.
func (w *world) callbacks(ctx context.Context, kind, id string) ([]Event, error) {
	// A capture's callback names its payment too: keep the payment's own.
	return w.callbackEvents(ctx, "callback.received", kind, id, func(e Event) bool {
		return !isPaymentEndpoint(e.str("endpoint"))
	})
}

// callbackEvents returns the shop's Genstore events of a journal kind about
// an operation (kind and id), oldest first. An event about a payment's
// capture, void or refund names the payment too: for a payment, notOwn says
// which events are about another operation.
func (w *world) callbackEvents(ctx context.Context, journalKind, kind, id string, notOwn func(Event) bool) ([]Event, error) {
	evs, err := w.myEvents(ctx, "system", "genstore", "kind", journalKind, "shopId", w.shopID)
	if err != nil {
		return nil, err
	}
	var out []Event
	for _, e := range evs {
		if e.IDs[kind+"Id"] == id && !(kind == genstore.KindPayment && notOwn(e)) {
			out = append(out, e)
		}
	}
	return out, nil
}

func isPaymentEndpoint(e string) bool { return e == "payment" || e == "pre_authorize" }

// ---------------------------------------------------------------- cards

// registerCard adds a number the scenario pays with to the simulator's
// canary registry (docs/CONTRACT.md §5.3: no card data anywhere but the
// PSP's card field, on every path) and to the scenario's cards.
func (w *world) registerCard(ctx context.Context, number string) error {
	if number == "" || slices.Contains(w.cards, number) {
		return nil
	}
	if err := w.h.admin(ctx, "POST", "/_sim/canaries", map[string]any{"numbers": []string{number}, "label": truncate("conformance: "+w.name, 200)}, http.StatusCreated, nil); err != nil {
		return fmt.Errorf("registering the scenario's card with the canary registry: %w", err)
	}
	w.cards = append(w.cards, number)
	return nil
}

// testCard returns a TESTCARDS.md number.
func (w *world) testCard(brand, row string) (string, error) {
	for _, c := range w.h.cards.Cards {
		if c.NN == row {
			if brand == "Mastercard" {
				return c.Mastercard, nil
			}
			return c.Visa, nil
		}
	}
	return "", fmt.Errorf("TESTCARDS.md has no row %s", row)
}

// newCanary draws a Luhn-valid Visa-range number no test card uses and no
// other scenario of the run draws: 16 digits from the run, the scenario's
// shop and a counter, with its check digit.
func (w *world) newCanary() string {
	hsh := fnv.New64a()
	hsh.Write([]byte(w.h.run + "/" + w.shopID + "/" + strconv.Itoa(len(w.canary))))
	body := fmt.Sprintf("49%013d", hsh.Sum64()%1e13) // 15 digits
	return body + luhnDigit(body)
}

// luhnDigit is the check digit that makes body+digit Luhn-valid.
func luhnDigit(body string) string {
	for d := 0; d <= 9; d++ {
		if n := body + strconv.Itoa(d); pan.Luhn(n) {
			return strconv.Itoa(d)
		}
	}
	return "0"
}

// ---------------------------------------------------------------- evidence

// describeOutcome renders where an operation stands at Genstore as evidence.
func describeOutcome(o outcome) []string {
	what := "payment " + o.id
	if o.kind != genstore.KindPayment {
		what = fmt.Sprintf("%s %s of payment %s", o.kind, o.id, o.payment.PaymentID)
	}
	last := fmt.Sprintf("last HTTP %d", o.request.LastStatus)
	if o.request.LastError != "" {
		last += " (" + o.request.LastError + ")"
	}
	ev := []string{fmt.Sprintf("Genstore %s: request %s after %d attempt(s), %s", what, o.request.State, o.request.Attempts, last)}
	if o.ack != nil {
		ev = append(ev, fmt.Sprintf("acknowledgement: channel id %q, error %q%s", o.ack.ChannelID, pan.Scrub(o.ack.Error), map[bool]string{true: ", redirectUrl given", false: ""}[o.ack.RedirectURL != ""]))
	}
	if o.result != nil {
		ev = append(ev, fmt.Sprintf("recorded result %t (%s)%s", o.result.Result, o.result.Source, reasonText(o.result.Reason)))
	}
	return ev
}

func reasonText(r string) string {
	if r == "" {
		return ""
	}
	return ": " + pan.Scrub(r)
}

// eventRefs renders journal events as evidence.
func eventRefs(evs []Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.ref()+": "+pan.Scrub(e.Message))
	}
	return out
}
