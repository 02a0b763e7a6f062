package faults_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/delivery"
	"github.com/pspsim/pspsim/simulator/faults"
	"github.com/pspsim/pspsim/simulator/ids"
	"github.com/pspsim/pspsim/simulator/journal"
)

// inbox is a receiver of deliveries: it records what arrives, in order.
type inbox struct {
	mu       sync.Mutex
	bodies   []string
	sigs     []string
	at       []time.Time
	clock    clock.Clock
	inFlight int
	maxConc  int
	barrier  chan struct{} // when set, the first request waits here for the second
}

func (in *inbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	in.mu.Lock()
	in.bodies = append(in.bodies, string(b))
	in.sigs = append(in.sigs, r.Header.Get("X-Sig"))
	in.at = append(in.at, in.clock.Now())
	in.inFlight++
	if in.inFlight > in.maxConc {
		in.maxConc = in.inFlight
	}
	n := len(in.bodies)
	barrier := in.barrier
	in.mu.Unlock()
	if barrier != nil {
		if n == 1 {
			select { // concurrent copies meet here; sequential ones never would
			case <-barrier:
			case <-time.After(20 * time.Second): // generous: a busy machine may be slow to start the second
			}
		} else {
			close(barrier)
		}
	}
	in.mu.Lock()
	in.inFlight--
	in.mu.Unlock()
	w.WriteHeader(200)
}

func (in *inbox) got() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]string(nil), in.bodies...)
}

type outbound struct {
	t      *testing.T
	clock  *clock.Sim
	j      *journal.Journal
	eng    *faults.Engine
	sender *delivery.Sender
	inbox  *inbox
	srv    *httptest.Server
}

func newOutbound(t *testing.T) *outbound {
	c := clock.NewSim(t0)
	j := journal.New(c, 0)
	in := &inbox{clock: c}
	srv := httptest.NewServer(in)
	sender := delivery.NewSender(c, j, srv.Client())
	eng := faults.New(faults.Options{Clock: c, Journal: j, IDs: ids.New(3), Sender: sender})
	t.Cleanup(func() { eng.Close(); sender.Close(); srv.Close() })
	return &outbound{t: t, clock: c, j: j, eng: eng, sender: sender, inbox: in, srv: srv}
}

func (o *outbound) rule(yamlText string) {
	o.t.Helper()
	f, err := faults.ParseFile([]byte(yamlText), faults.SourceAPI)
	if err != nil {
		o.t.Fatal(err)
	}
	if _, err := o.eng.Add(f.Rules[0]); err != nil {
		o.t.Fatal(err)
	}
}

// notify sends a CodePay-like notification whose system knows how to
// contradict and tamper it.
func (o *outbound) notify(order, status string, schedule ...time.Duration) *delivery.Delivery {
	req := delivery.Request{System: "codepay", Kind: "notification", URL: o.srv.URL + "/notify",
		Header: http.Header{"X-Sig": {"good"}}, Body: []byte(`{"order":"` + order + `","status":"` + status + `","order_amount":10.00}`),
		IDs: map[string]string{"orderNo": order}, Tags: map[string]string{"merchant": "M1"}}
	req.Contradict = func() (delivery.Request, bool) {
		c := req
		c.Body = []byte(`{"order":"` + order + `","status":"FAILED","order_amount":10.00}`)
		return c, true
	}
	req.Tamper = func(r delivery.Request) delivery.Request {
		r.Header = r.Header.Clone()
		r.Header.Set("X-Sig", "forged")
		return r
	}
	return o.sender.Send(req, delivery.Policy{Schedule: schedule}, nil)
}

func body(order, status string) string {
	return `{"order":"` + order + `","status":"` + status + `","order_amount":10.00}`
}

func TestDropLosesTheAttemptAndTheRetryArrives(t *testing.T) {
	o := newOutbound(t)
	o.rule(`{match: {system: codepay, operation: notification, attempt: 1}, action: drop}`)
	d := o.notify("A1", "SUCCESS", 30*time.Second)
	if len(o.inbox.got()) != 0 || d.State() != delivery.Pending {
		t.Fatalf("the dropped attempt arrived: %v %s", o.inbox.got(), d.State())
	}
	if a, _ := d.Last(); !strings.Contains(a.Error, "dropped") || a.Outcome != "retry" {
		t.Fatalf("attempt: %+v", a)
	}
	o.clock.Advance(30 * time.Second)
	if got := o.inbox.got(); len(got) != 1 || d.State() != delivery.Done {
		t.Fatalf("retry: %v %s", got, d.State())
	}
}

func TestDelayLeavesLateOnTheClock(t *testing.T) {
	o := newOutbound(t)
	o.rule(`{match: {operation: notification}, action: {type: delay, by: 90s}}`)
	d := o.notify("A1", "SUCCESS")
	o.clock.Advance(89 * time.Second)
	if len(o.inbox.got()) != 0 {
		t.Fatal("left early")
	}
	o.clock.Advance(time.Second)
	if len(o.inbox.got()) != 1 || d.State() != delivery.Done || !o.inbox.at[0].Equal(t0.Add(90*time.Second)) {
		t.Fatalf("%v %s %v", o.inbox.got(), d.State(), o.inbox.at)
	}
}

func TestDuplicateSendsIdenticalCopies(t *testing.T) {
	for _, concurrent := range []bool{false, true} {
		o := newOutbound(t)
		if concurrent {
			o.inbox.barrier = make(chan struct{})
			o.rule(`{match: {operation: notification}, action: {type: duplicate, concurrent: true}}`)
		} else {
			o.rule(`{match: {operation: notification}, action: {type: duplicate, copies: 2}}`)
		}
		d := o.notify("A1", "SUCCESS")
		got := o.inbox.got()
		want := 3
		if concurrent {
			want = 2
		}
		if len(got) != want || d.State() != delivery.Done {
			t.Fatalf("concurrent=%v: %d copies, state %s", concurrent, len(got), d.State())
		}
		for _, b := range got {
			if b != got[0] {
				t.Fatalf("copies differ: %q", got)
			}
		}
		if concurrent != (o.inbox.maxConc == 2) {
			t.Fatalf("concurrent=%v but %d arrived at once", concurrent, o.inbox.maxConc)
		}
	}
}

func TestReorderSwapsWithTheNextMessage(t *testing.T) {
	o := newOutbound(t)
	o.rule(`{match: {operation: notification}, action: reorder, frequency: {first: 1}}`)
	first := o.notify("A1", "SUCCESS")
	if len(o.inbox.got()) != 0 || first.State() != delivery.Pending {
		t.Fatal("the reordered message left at once")
	}
	second := o.notify("A2", "SUCCESS")
	got := o.inbox.got()
	if len(got) != 2 || got[0] != body("A2", "SUCCESS") || got[1] != body("A1", "SUCCESS") {
		t.Fatalf("order: %q", got)
	}
	if first.State() != delivery.Done || second.State() != delivery.Done {
		t.Fatalf("states %s %s", first.State(), second.State())
	}
}

func TestReorderWithoutANextMessageLeavesAfterMaxHold(t *testing.T) {
	o := newOutbound(t)
	o.rule(`{match: {operation: notification}, action: {type: reorder, maxHold: 2m}}`)
	d := o.notify("A1", "SUCCESS")
	o.clock.Advance(time.Minute)
	if len(o.inbox.got()) != 0 {
		t.Fatal("left early")
	}
	o.clock.Advance(time.Minute)
	if len(o.inbox.got()) != 1 || d.State() != delivery.Done {
		t.Fatalf("%v %s", o.inbox.got(), d.State())
	}
	if ev := o.j.Query(journal.Filter{Kind: "fault.effect.reorder"}); len(ev) != 1 || !strings.Contains(ev[0].Message, "within 2m0s") {
		t.Fatalf("%+v", ev)
	}
}

func TestContradictSendsTheOppositeResult(t *testing.T) {
	for _, c := range []struct {
		order string
		want  []string
	}{
		{"after", []string{body("A1", "SUCCESS"), body("A1", "FAILED")}},
		{"before", []string{body("A1", "FAILED"), body("A1", "SUCCESS")}},
	} {
		o := newOutbound(t)
		o.rule(`{match: {merchant: M1}, action: {type: contradict, order: ` + c.order + `}}`)
		d := o.notify("A1", "SUCCESS")
		if got := o.inbox.got(); strings.Join(got, "|") != strings.Join(c.want, "|") || d.State() != delivery.Done {
			t.Fatalf("%s: %q %s", c.order, got, d.State())
		}
	}
}

func TestContradictAndTamperPassMessagesThatCannot(t *testing.T) {
	o := newOutbound(t)
	o.rule(`{match: {operation: plain}, action: contradict}`)
	o.sender.Send(delivery.Request{System: "genstore", Kind: "plain", URL: o.srv.URL, Body: []byte(`{}`)}, delivery.Policy{}, nil)
	if len(o.inbox.got()) != 1 {
		t.Fatal("a message without contradiction must still be sent once")
	}
	if ev := o.j.Query(journal.Filter{Kind: "fault.effect.contradict"}); len(ev) != 1 {
		t.Fatalf("%+v", ev)
	}
}

func TestTamperBreaksTheSignature(t *testing.T) {
	o := newOutbound(t)
	o.rule(`{match: {operation: notification, attempt: 1}, action: tamper}`)
	o.notify("A1", "SUCCESS", time.Second)
	o.clock.Advance(time.Second) // the inbox answers 200: there is no retry
	if len(o.inbox.sigs) != 1 || o.inbox.sigs[0] != "forged" {
		t.Fatalf("signatures: %v", o.inbox.sigs)
	}
}

func TestEveryFiringIsAJournalEventWithoutCardData(t *testing.T) {
	o := newOutbound(t)
	o.rule(`{id: drop-all, match: {operation: notification}, action: drop}`)
	o.sender.Send(delivery.Request{System: "codepay", Kind: "notification", URL: o.srv.URL,
		Body: []byte(`{"pan":"4000123456000019"}`), IDs: map[string]string{"orderNo": "A1"}}, delivery.Policy{}, nil)
	ev := o.j.Query(journal.Filter{System: faults.System, Kind: "fault.fired"})
	if len(ev) != 1 || ev[0].Kind != "fault.fired.drop" || ev[0].IDs["rule"] != "drop-all" || ev[0].IDs["orderNo"] != "A1" {
		t.Fatalf("%+v", ev)
	}
	for _, e := range o.j.Query(journal.Filter{}) {
		if strings.Contains(e.Message, "4000123456000019") || strings.Contains(strings.Join(mapValues(e.IDs), ","), "4000123456000019") {
			t.Fatalf("card number in the journal: %+v", e)
		}
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
