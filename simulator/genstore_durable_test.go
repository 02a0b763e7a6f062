package simulator_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/genstore"
	"github.com/pspsim/pspsim/simulator/genstore/genstoretest"
	"github.com/pspsim/pspsim/simulator/simtest"
	"github.com/pspsim/pspsim/simulator/store/sqlstore/pgtest"
)

const gsShop = "7001"

// gsInstall creates a shop, registers app and installs it on the shop
// through h (the app follows the OAuth flow against h).
func gsInstall(t *testing.T, h *simtest.Harness, app *genstoretest.App) {
	t.Helper()
	for _, c := range []struct {
		path string
		body any
	}{
		{"/_sim/genstore/shops", map[string]any{"shopId": gsShop, "shop": "durable-shop", "name": "Durable Shop", "currency": "USD", "testMode": true}},
		{"/_sim/genstore/apps", app.Registration()},
		{"/_sim/genstore/shops/" + gsShop + "/installations", map[string]any{"clientId": app.ClientID}},
	} {
		if r := h.Do("POST", c.path, c.body); r.Status != 201 {
			t.Fatalf("POST %s: %d %s", c.path, r.Status, r.Body)
		}
	}
	if errs := app.Errors(); len(errs) > 0 || app.Token() == "" {
		t.Fatalf("installation failed: %v", errs)
	}
}

// gsPayment reads a payment's admin view.
func gsPayment(t *testing.T, h *simtest.Harness, id string) map[string]any {
	t.Helper()
	r := h.Do("GET", "/_sim/genstore/shops/"+gsShop+"/payments/"+id, nil)
	if r.Status != 200 {
		t.Fatalf("payment %s: %d %s", id, r.Status, r.Body)
	}
	return r.JSON()
}

// TestGenstoreRetrySurvivesARestart: a payment request the app answered
// 503 waits for its retry (1 s later) when the simulator closes; the next
// process on the same database (SQLite, PostgreSQL) sends the retry when
// its clock reaches it — byte-identical body, signed afresh — and the app's
// callback during that attempt completes the payment.
func TestGenstoreRetrySurvivesARestart(t *testing.T) {
	for _, tc := range pgtest.Stores() {
		t.Run(tc.Name, func(t *testing.T) {
			url := tc.URL(t)
			db := openDB(t, url)
			first := simtest.New(t, onBackend(db))
			app, err := genstoretest.New("durable-app", "durable-app-secret-0001", first.URL)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(app.Close)
			app.Now = first.Clock.Now
			gsInstall(t, first, app)

			app.Queue(genstore.KindPayment, genstoretest.Reply{Status: 503})
			r := first.Do("POST", "/_sim/genstore/shops/"+gsShop+"/payments", map[string]any{"clientId": app.ClientID, "amount": "42.00"})
			if r.Status != 201 {
				t.Fatalf("payment: %d %s", r.Status, r.Body)
			}
			id := simtest.FieldString(r.JSON(), "paymentId")
			if v := gsPayment(t, first, id); simtest.Field(v, "request.state") != "pending" || v["status"] != "1" {
				t.Fatalf("before the restart: %v %v", v["status"], v["request"])
			}
			first.Sim.Close()
			db.Close()

			second := simtest.New(t, onBackend(openDB(t, url)))
			app.Genstore, app.Now = second.URL, second.Clock.Now
			if v := gsPayment(t, second, id); simtest.Field(v, "request.state") != "pending" || v["status"] != "1" {
				t.Fatalf("after the restart: %v %v", v["status"], v["request"])
			}
			// The deadline scheduled by the first process is a row the second finds.
			deadline := gsShop + "/" + id + "/first"
			if !second.Sim.Env().Jobs.Pending("genstore.payment.deadline", deadline) {
				t.Fatal("the payment's deadline job did not survive the restart")
			}
			app.Queue(genstore.KindPayment, genstoretest.Reply{Callback: &genstoretest.Result{OK: true, ChannelID: "psp_durable"}})
			second.Advance(time.Second)
			simtest.Eventually(t, "the retried request", func() bool { return len(app.Requests(genstore.KindPayment)) == 2 })
			reqs := app.Requests(genstore.KindPayment)
			for i, q := range reqs {
				if q.ID != id || q.SignatureErr != "" || !q.BodyHMACOK {
					t.Fatalf("request %d: id %s, signature %q, body hmac %t", i+1, q.ID, q.SignatureErr, q.BodyHMACOK)
				}
			}
			if !bytes.Equal(reqs[0].Body, reqs[1].Body) {
				t.Fatal("the retried request's body differs from the first")
			}
			if reqs[1].Answered != 200 {
				t.Fatalf("the app answered the retry %d", reqs[1].Answered)
			}
			simtest.Eventually(t, "the payment's result", func() bool { return gsPayment(t, second, id)["status"] == "2" })
			v := gsPayment(t, second, id)
			if simtest.Field(v, "result.source") != genstore.SourceCallback || simtest.Field(v, "request.state") != "delivered" ||
				fmt.Sprint(simtest.Field(v, "request.attempts")) != "2" || simtest.Field(v, "ack.channelId") != "ch_"+id {
				t.Fatalf("after the retry: %v %v %v", v["result"], v["request"], v["ack"])
			}
			if second.Sim.Env().Jobs.Pending("genstore.payment.deadline", deadline) {
				t.Fatal("the payment's result did not cancel the deadline the first process scheduled")
			}
			// Nothing is sent again: the delivery is finished.
			second.Advance(time.Minute)
			if n := len(app.Requests(genstore.KindPayment)); n != 2 {
				t.Fatalf("%d payment requests after the delivery finished", n)
			}
		})
	}
}
