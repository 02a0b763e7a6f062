package simulator_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/pspsim/pspsim/simulator"
	"github.com/pspsim/pspsim/simulator/delivery"
	"github.com/pspsim/pspsim/simulator/genstore"
	"github.com/pspsim/pspsim/simulator/genstore/genstoretest"
	"github.com/pspsim/pspsim/simulator/jobs"
	"github.com/pspsim/pspsim/simulator/simtest"
	"github.com/pspsim/pspsim/simulator/store"
	"github.com/pspsim/pspsim/simulator/store/sqlstore"
	"github.com/pspsim/pspsim/simulator/store/sqlstore/pgtest"
)

// watchedDB is a durable backend whose stores let a test look at the
// database at the moment a Genstore payment document is written.
type watchedDB struct {
	*sqlstore.DB
	onWrite func(doc []byte)
}

func (w *watchedDB) Store(_ context.Context, sc store.Scope) (store.Store, error) {
	return &watchedStore{Store: w.Namespace(sc), onWrite: w.onWrite}, nil
}

type watchedStore struct {
	*sqlstore.Store
	onWrite func(doc []byte)
}

const paymentKind = "genstore.payment"

func (s *watchedStore) Create(ctx context.Context, kind, id string, doc []byte, unique ...string) error {
	if kind == paymentKind {
		s.onWrite(doc)
	}
	return s.Store.Create(ctx, kind, id, doc, unique...)
}

func (s *watchedStore) Update(ctx context.Context, kind, id string, fn func(cur []byte) ([]byte, error)) error {
	if kind != paymentKind {
		return s.Store.Update(ctx, kind, id, fn)
	}
	return s.Store.Update(ctx, kind, id, func(cur []byte) ([]byte, error) {
		next, err := fn(cur)
		if err == nil {
			s.onWrite(next)
		}
		return next, err
	})
}

// TestGenstoreRequestIsStoredBeforeItsOperation: with a durable store, when
// a Genstore payment, or a capture or refund of it, is written waiting for
// its first request to the app, that request's delivery row is already in
// the database — so a crash between the two writes leaves a request the
// next process sends (or, when the operation never landed, drops), never an
// operation waiting forever for a request nobody will send.
func TestGenstoreRequestIsStoredBeforeItsOperation(t *testing.T) {
	for _, tc := range pgtest.Stores() {
		t.Run(tc.Name, func(t *testing.T) {
			var (
				mu      sync.Mutex
				checked = map[string]bool{} // kind → seen
				missing []string
			)
			w := &watchedDB{DB: openDB(t, tc.URL(t))}
			table := w.JobTable("default")
			w.onWrite = func(doc []byte) {
				var p genstore.Payment
				if err := json.Unmarshal(doc, &p); err != nil {
					t.Errorf("a payment document: %v", err)
					return
				}
				check := func(kind, id string, out genstore.Outbound) {
					if out.Attempts > 0 || out.State != genstore.DeliveryPending {
						return
					}
					// The row holds the request's ids: Mentions finds it.
					ok, err := table.Mentions(context.Background(), delivery.AttemptKind, []byte(`"`+id+`"`))
					mu.Lock()
					defer mu.Unlock()
					checked[kind] = true
					if err != nil || !ok {
						missing = append(missing, kind+" "+id)
					}
				}
				check(genstore.KindPayment, p.PaymentID, p.Request)
				for _, op := range p.Operations {
					check(op.Kind, op.ID, op.Request)
				}
			}
			h := simtest.New(t, func(o *simulator.Options) { o.Backend = w })
			app, err := genstoretest.New("order-app", "order-app-secret-0001", h.URL)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(app.Close)
			app.Now = h.Clock.Now
			gsInstall(t, h, app)
			app.Queue(genstore.KindPayment, genstoretest.Reply{Callback: &genstoretest.Result{OK: true, ChannelID: "psp_order"}})
			r := h.Do("POST", "/_sim/genstore/shops/"+gsShop+"/payments", map[string]any{"clientId": app.ClientID, "amount": "42.00", "manualCapture": true})
			if r.Status != 201 {
				t.Fatalf("payment: %d %s", r.Status, r.Body)
			}
			id := simtest.FieldString(r.JSON(), "paymentId")
			simtest.Eventually(t, "the payment's result", func() bool { return gsPayment(t, h, id)["statusName"] == "auth_success" })
			app.Queue(genstore.KindCapture, genstoretest.Reply{Callback: &genstoretest.Result{OK: true, ChannelID: "psp_capture"}})
			if r := h.Do("POST", "/_sim/genstore/shops/"+gsShop+"/payments/"+id+"/captures", map[string]any{"amount": "42.00"}); r.Status != 201 {
				t.Fatalf("capture: %d %s", r.Status, r.Body)
			}
			simtest.Eventually(t, "the capture's result", func() bool { return gsPayment(t, h, id)["status"] == "2" })
			if r := h.Do("POST", "/_sim/genstore/shops/"+gsShop+"/payments/"+id+"/refunds", map[string]any{"amount": "10.00"}); r.Status != 201 {
				t.Fatalf("refund: %d %s", r.Status, r.Body)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, kind := range []string{genstore.KindPayment, genstore.KindCapture, genstore.KindRefund} {
				if !checked[kind] {
					t.Errorf("no %s was written waiting for its first request: the test looked at nothing", kind)
				}
			}
			if len(missing) > 0 {
				t.Fatalf("written waiting for their first request with no delivery row yet: %v", missing)
			}
		})
	}
}

// The watched backend still gives the simulator its job table.
var _ jobs.Backend = (*watchedDB)(nil)
