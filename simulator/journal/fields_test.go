package journal_test

import (
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/journal/journaltest"
)

// TestFieldsEncodeAsTheirMap records random events twice — their data and
// ids as maps with Record, and as lists with RecordFields (keys repeated,
// the last value winning as in the map) — and expects the journal to give back the same
// events, redaction included.
func TestFieldsEncodeAsTheirMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	keys := []string{"cardNo", "cvv", "reference", "amount", "pan", "message", "a", "b", "secret", "number", "z", "why"}
	strs := []string{"", "4000123456000019", "hello", "pay 5100 1234 5600 0015 now", "<&>\u2028", "\xff", "123", "sk_live_abc"}
	maps, lists := journal.New(clock.NewSim(time.Unix(0, 0)), 0), journal.New(clock.NewSim(time.Unix(0, 0)), 0)
	for range 2000 {
		data := map[string]any{}
		var fields []journal.Field
		n := rng.IntN(14)
		if rng.IntN(10) == 0 {
			n = 20 + rng.IntN(20) // more than appendFields sorts in place
		}
		if n == 0 && rng.IntN(2) == 0 {
			data, fields = nil, nil // no data at all
		} else if fields == nil && n == 0 {
			fields = []journal.Field{} // an empty object
		}
		for range n {
			k := keys[rng.IntN(len(keys))]
			switch rng.IntN(5) {
			case 0:
				v := strs[rng.IntN(len(strs))]
				data[k], fields = v, append(fields, journal.String(k, v))
			case 1:
				v := rng.Int64N(1<<40) - 1<<39
				data[k], fields = v, append(fields, journal.Int(k, v))
			case 2:
				v := rng.IntN(2) == 0
				data[k], fields = v, append(fields, journal.Bool(k, v))
			case 3:
				v := map[string]any{"number": strs[rng.IntN(len(strs))], "n": 1.5}
				data[k], fields = v, append(fields, journal.Any(k, v))
			case 4:
				v := []string{strs[rng.IntN(len(strs))], "x"}
				data[k], fields = v, append(fields, journal.Any(k, v))
			}
		}
		ids := map[string]string{}
		var list []journal.ID
		for range rng.IntN(9) {
			k, v := keys[rng.IntN(len(keys))], strs[rng.IntN(len(strs))]
			ids[k], list = v, append(list, journal.ID{Name: k, Value: v})
		}
		msg := strs[rng.IntN(len(strs))]
		maps.Record(journal.Event{System: "s", Kind: "k", Message: msg, IDs: ids, Data: data})
		lists.RecordFields(journal.Event{System: "s", Kind: "k", Message: msg}, list, fields)
	}
	a, b := maps.Query(journal.Filter{}), lists.Query(journal.Filter{})
	if len(a) != 2000 || len(b) != 2000 {
		t.Fatalf("%d and %d events", len(a), len(b))
	}
	for i := range a {
		ja, _ := json.Marshal(a[i])
		jb, _ := json.Marshal(b[i])
		if string(ja) != string(jb) {
			t.Fatalf("event %d:\n%s\nwant\n%s", i, jb, ja)
		}
	}
	// And byte for byte as kept: keys in the same order.
	pa, pb := maps.Page(journal.Filter{}, true, 2000), lists.Page(journal.Filter{}, true, 2000)
	for i := range pa.Events {
		if string(pa.Events[i]) != string(pb.Events[i]) {
			t.Fatalf("event %d kept as\n%s\nwant\n%s", i, pb.Events[i], pa.Events[i])
		}
	}
}

// TestFieldsMergeWithData: Data and fields together give one object, a key
// in both taking the field's value; IDs and a list of ids likewise.
func TestFieldsMergeWithData(t *testing.T) {
	j := journal.New(clock.NewSim(time.Unix(0, 0)), 0)
	j.RecordFields(journal.Event{System: "s", Kind: "k", Data: map[string]any{"a": "1", "b": "2"}, IDs: map[string]string{"x": "1", "y": "2"}},
		[]journal.ID{{Name: "y", Value: "3"}, {Name: "z", Value: "4"}}, []journal.Field{journal.Int("b", 3), journal.Bool("c", true)})
	e := j.Query(journal.Filter{})[0]
	if got, _ := json.Marshal(e.Data); string(got) != `{"a":"1","b":3,"c":true}` {
		t.Errorf("data %s", got)
	}
	if got, _ := json.Marshal(e.IDs); string(got) != `{"x":"1","y":"3","z":"4"}` {
		t.Errorf("ids %s", got)
	}
}

func BenchmarkRecordFields(b *testing.B) {
	j := journal.New(clock.NewSim(time.Unix(0, 0)), 1000)
	b.Run("map", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			s := strconv.Itoa(i)
			j.Record(journal.Event{System: "vmgateway", Kind: "payment.status_changed", Message: "m",
				IDs:  map[string]string{"orderNo": s, "tradeNo": s, "merchant": "M1", "appId": "A1"},
				Data: map[string]any{"from": "", "to": "CAPTURED", "why": s, "environment": "sandbox", "amount": s, "currency": "USD", "method": "card"}})
		}
	})
	b.Run("fields", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			s := strconv.Itoa(i)
			j.RecordFields(journal.Event{System: "vmgateway", Kind: "payment.status_changed", Message: "m"},
				[]journal.ID{{Name: "orderNo", Value: s}, {Name: "tradeNo", Value: s}, {Name: "merchant", Value: "M1"}, {Name: "appId", Value: "A1"}},
				[]journal.Field{journal.String("from", ""), journal.String("to", "CAPTURED"), journal.String("why", s), journal.String("environment", "sandbox"),
					journal.String("amount", s), journal.String("currency", "USD"), journal.String("method", "card")})
		}
	})
}

// rawJSON is a body view already masked (journal.RedactedJSON).
type rawJSON []byte

func (r rawJSON) RedactedJSON() []byte { return r }

// BenchmarkCardPaymentEvents records the four events of a card payment
// (BenchmarkVersusBare/vmgateway.createPayment) as their callers give them:
// the authentication and its binding, the status change, the request with
// its views (the answer a clipped text).
func BenchmarkCardPaymentEvents(b *testing.B) {
	j := journal.New(clock.NewSim(time.Unix(0, 0)), 0)
	request := rawJSON(`{"orderNo":"B100000001","amount":"19.99","currency":"USD","paymentMethodType":"card","description":"test order","threeDsMode":"auto","card":{"cardNo":"400012******0019","expiryMonth":"12","expiryYear":"2030","cvc":"***","captureMethod":"auto"},"deviceInfo":{"clientIp":"10.1.1.1","language":"en-US","browser":{"acceptHeader":"text/html","userAgent":"Mozilla/5.0 (test)","javascriptEnable":true,"colorDepth":"24","screenHeight":"800","screenWidth":"1200","timeZone":"0"}}}`)
	answer := `{"tradeNo":"20261122100000305936","orderNo":"B100000001","status":"CAPTURED","paymentMethodType":"card","amount":"19.99","currency":"USD","authorizedAmount":"19.99","capturedAmount":"19.99","refundedAmount":"0.00","captureMethod":"auto","environment":"sandbox","description":"test order","threeDs":{"mode":"auto","flow":"frictionless","version":"2.2.0","transStatus":"Y","eci":"05","dsTransId":"2d4aa6de-f700-4655-bfd5-1fe4fe647bae","acsTransId":"a9b923c4-4378-4f40-a54c-61e777837df3","threeDsServerTransId":"e0d866ae-779a-4149-8074-961f8e4de246","liabilityShift":true},"nextAction":{"type":"none"},"… (722 bytes)`
	b.ReportAllocs()
	for b.Loop() {
		journaltest.RecordCardPayment(j, request, answer)
	}
}

// TestEventsNamingTheSameIDs: events that follow one another naming the
// same ids (kept once, keepIDs) and others each keep their own.
func TestEventsNamingTheSameIDs(t *testing.T) {
	j := journal.New(clock.NewSim(time.Unix(0, 0)), 0)
	a := []journal.ID{{Name: "orderNo", Value: "A1"}, {Name: "tradeNo", Value: "T1"}}
	b := []journal.ID{{Name: "orderNo", Value: "A1"}, {Name: "tradeNo", Value: "T2"}}
	lists := [][]journal.ID{a, a, b, nil, a, {{Name: "tradeNo", Value: "T1"}, {Name: "orderNo", Value: "A1"}}, {{Name: "orderNo", Value: "A1"}}, a, a}
	want := []string{`{"orderNo":"A1","tradeNo":"T1"}`, `{"orderNo":"A1","tradeNo":"T1"}`, `{"orderNo":"A1","tradeNo":"T2"}`, `null`,
		`{"orderNo":"A1","tradeNo":"T1"}`, `{"orderNo":"A1","tradeNo":"T1"}`, `{"orderNo":"A1"}`, `{"orderNo":"A1","tradeNo":"changed"}`, `{"orderNo":"A1","tradeNo":"changed"}`}
	for i, ids := range lists {
		j.RecordFields(journal.Event{System: "s", Kind: "k"}, ids, nil)
		if i == 4 {
			a[1].Value = "changed" // what was kept stays as it was
		}
	}
	for i, e := range j.Query(journal.Filter{}) {
		if got, _ := json.Marshal(e.IDs); string(got) != want[i] {
			t.Errorf("event %d: ids %s, want %s", i, got, want[i])
		}
	}
}

// TestDataIsKeptApart: the data of events encoded into one slab (of a
// goroutine's encoder) stays each event's own, whatever the events
// recorded after it, their sizes (some outgrow the room an event is
// encoded in, some the slab) or the goroutines recording them.
func TestDataIsKeptApart(t *testing.T) {
	j := journal.New(clock.NewSim(time.Unix(0, 0)), 0)
	sizes := []int{0, 1, 100, 1000, 3000, 5000, 20_000, 70_000}
	const goroutines, each = 4, 200
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				n := sizes[(g+i)%len(sizes)]
				j.RecordFields(journal.Event{System: "s", Kind: "k"}, []journal.ID{{Name: "g", Value: strconv.Itoa(g)}, {Name: "i", Value: strconv.Itoa(i)}},
					[]journal.Field{journal.String("pad", strings.Repeat(string(rune('a'+g)), n)), journal.Int("i", int64(i))})
			}
		}()
	}
	wg.Wait()
	events := j.Query(journal.Filter{})
	if len(events) != goroutines*each {
		t.Fatalf("%d events", len(events))
	}
	for _, e := range events {
		g, _ := strconv.Atoi(e.IDs["g"])
		i, _ := strconv.Atoi(e.IDs["i"])
		want := strings.Repeat(string(rune('a'+g)), sizes[(g+i)%len(sizes)])
		if e.Data["pad"] != want || e.Data["i"] != float64(i) {
			t.Fatalf("event %d of goroutine %d holds %.40v", i, g, e.Data)
		}
	}
}
