package threeds_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/pspsim/pspsim/fixtures"
	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/ids"
	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/store"
	"github.com/pspsim/pspsim/simulator/threeds"
)

// TestBindFinalIsAuthenticateThenBind holds Request.BindFinal to what it
// replaces: for every row of the test card table and both brands, two
// services drawing the same ids on the same clock, one authenticating then
// binding the result as a PSP does (Bind by the authentication's id, for a
// Y or A), the other authenticating with BindFinal, end with the same
// stored document, the same result and the same journal, event for event.
func TestBindFinalIsAuthenticateThenBind(t *testing.T) {
	cards, err := fixtures.TestCards()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	type side struct {
		svc *threeds.Service
		st  store.Store
		jr  *journal.Journal
	}
	newSide := func() side {
		c := clock.NewSim(start)
		j := journal.New(c, 0)
		st := store.NewMemory()
		svc, err := threeds.New(threeds.Options{Clock: c, Store: st, Journal: j, IDs: ids.New(7), BaseURL: func() string { return "http://sim" }})
		if err != nil {
			t.Fatal(err)
		}
		return side{svc, st, j}
	}
	twoStep, oneStep := newSide(), newSide()
	bound := 0
	for _, row := range cards.Cards {
		for _, number := range []string{row.Visa, row.Mastercard} {
			r := req(number)
			r.JournalIDs = map[string]string{"orderNo": "O-" + row.NN, "tradeNo": "T1"}
			a, err := twoStep.svc.Authenticate(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			if a.Final && a.LiabilityShift {
				if a, err = twoStep.svc.Bind(ctx, threeds.Binding{ThreeDSServerTransID: a.ThreeDSServerTransID, DSTransID: a.DSTransID,
					AuthenticationValue: a.AuthenticationValue, MerchantID: r.MerchantID, Reference: r.Reference, Amount: r.Amount, Currency: r.Currency}); err != nil {
					t.Fatal(err)
				}
			}
			r.BindFinal = true
			b, err := oneStep.svc.Authenticate(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			if b.BoundTo != "" {
				bound++
			}
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("row %s %s: result\n%+v\nwant\n%+v", row.NN, number[:6], b, a)
			}
			da, err1 := twoStep.st.Get(ctx, "3ds.transaction", a.ThreeDSServerTransID)
			db, err2 := oneStep.st.Get(ctx, "3ds.transaction", b.ThreeDSServerTransID)
			if err1 != nil || err2 != nil || string(da) != string(db) {
				t.Fatalf("row %s: stored\n%s\nwant\n%s (%v, %v)", row.NN, db, da, err1, err2)
			}
		}
	}
	if bound == 0 {
		t.Fatal("no authentication was bound at once: the test compares nothing")
	}
	ja, _ := json.Marshal(twoStep.jr.Query(journal.Filter{}))
	jb, _ := json.Marshal(oneStep.jr.Query(journal.Filter{}))
	if string(ja) != string(jb) {
		t.Fatalf("journals differ:\n%s\nwant\n%s", jb, ja)
	}
}

// TestBindFinalBindsOnlyFinalSuccesses: a challenge, or a final result
// without liability shift, is stored unbound (bound later by Bind); a bound
// result refuses another authorization and takes its own again.
func TestBindFinalBindsOnlyFinalSuccesses(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for card, wantBound := range map[string]bool{
		"4000123456000019": true,  // frictionless Y
		"4000123456000068": false, // challenge
		"4000123456000035": false, // frictionless N
	} {
		r := req(card)
		r.BindFinal = true
		res, err := e.svc.Authenticate(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.BoundTo == r.Reference; got != wantBound {
			t.Errorf("%s (%s %s): bound %v, want %v", card, res.Flow, res.TransStatus, got, wantBound)
		}
		if !wantBound {
			continue
		}
		if got, err := e.svc.Get(ctx, res.DSTransID); err != nil || got.BoundTo != r.Reference {
			t.Fatalf("stored bound to %q, %v", got.BoundTo, err)
		}
		b := threeds.Binding{ThreeDSServerTransID: res.ThreeDSServerTransID, DSTransID: res.DSTransID, AuthenticationValue: res.AuthenticationValue,
			MerchantID: r.MerchantID, Reference: r.Reference, Amount: r.Amount, Currency: r.Currency}
		if _, err := e.svc.Bind(ctx, b); err != nil {
			t.Fatalf("binding again to its own authorization: %v", err)
		}
		b.Reference = "T2"
		var be *threeds.BindError
		if _, err := e.svc.Bind(ctx, b); !errors.As(err, &be) {
			t.Fatalf("another authorization bound a result bound at once: %v", err)
		}
	}
	r := req("4000123456000019")
	r.Reference, r.BindFinal = "", true
	if res, err := e.svc.Authenticate(ctx, r); err != nil || res.BoundTo != "" {
		t.Fatalf("a standalone authentication was bound at once to %q (%v)", res.BoundTo, err)
	}
}

// TestOnlyPendingAuthenticationsKeepTheirReturnAndNotify: the return URL and
// the named completion are kept while a result is to come (a challenge, a
// decoupled authentication) and not stored for one final at once, which
// never uses them; the ids kept as the tails of their keys still find it.
func TestOnlyPendingAuthenticationsKeepTheirReturnAndNotify(t *testing.T) {
	ctx := context.Background()
	st := store.NewMemory()
	svc, err := threeds.New(threeds.Options{Clock: clock.NewSim(start), Store: st, Journal: journal.New(clock.NewSim(start), 0), IDs: ids.New(7),
		BaseURL: func() string { return "http://sim" }})
	if err != nil {
		t.Fatal(err)
	}
	for card, pending := range map[string]bool{"4000123456000019": false, "4000123456000035": false, "4000123456000068": true} {
		r := req(card)
		r.Notify, r.NotifyData = "psp.payment", []byte("T1")
		res, err := svc.Authenticate(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := st.Get(ctx, "3ds.transaction", res.ThreeDSServerTransID)
		if err != nil {
			t.Fatal(err)
		}
		var kept struct {
			ReturnURL  string `json:"returnUrl"`
			Notify     string `json:"notify"`
			NotifyData []byte `json:"notifyData"`
		}
		if err := json.Unmarshal(doc, &kept); err != nil {
			t.Fatal(err)
		}
		if got := kept.ReturnURL == r.ReturnURL && kept.Notify == r.Notify && string(kept.NotifyData) == "T1"; got != pending {
			t.Errorf("%s (%s %s): return and notify kept %v, want %v: %s", card, res.Flow, res.TransStatus, got, pending, doc)
		}
		if !pending && (kept.ReturnURL != "" || kept.Notify != "" || kept.NotifyData != nil) {
			t.Errorf("%s: final at once, kept %s", card, doc)
		}
		for _, id := range []string{res.DSTransID, res.ACSTransID} {
			if got, err := svc.Get(ctx, id); err != nil || got.ThreeDSServerTransID != res.ThreeDSServerTransID {
				t.Errorf("%s: Get(%s) = %v, %v", card, id, got.ThreeDSServerTransID, err)
			}
		}
	}
}
