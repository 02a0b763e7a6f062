package codepay_test

import (
	"context"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator"
	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/simtest"
	"github.com/pspsim/pspsim/simulator/store/sqlstore/pgtest"
)

// TestHeldBackNotificationSurvivesARestart: a notification held back by its
// test card (TESTCARDS row 12, 60 s) and one whose retry is pending survive
// closing the simulator; the next process on the same database sends them
// when their time comes, signed as the first process signed them.
func TestHeldBackNotificationSurvivesARestart(t *testing.T) {
	for _, tc := range pgtest.Stores() {
		t.Run(tc.Name, func(t *testing.T) {
			url := tc.URL(t)
			db := simtest.OpenDB(t, url)
			first := newCP(t, simtest.OnBackend(db))
			late := newNotifyServer(t)
			first.paidSale("DN1", "8.00", visaLate, map[string]any{"notify_url": late.URL, "terminal_sn": termB})
			retried := newNotifyServer(t, "HTTP 500", "success")
			first.paidSale("DN2", "9.00", visaOK, map[string]any{"notify_url": retried.URL})
			retried.wait(t, 1)
			tb := db.JobTable(simulator.DefaultNamespace)
			simtest.Eventually(t, "both notifications stored", func() bool {
				rows, err := tb.Due(context.Background(), simtest.Start.Add(time.Minute), 100)
				n := 0
				for _, r := range rows {
					if r.Kind == "delivery.attempt" {
						n++
					}
				}
				return err == nil && n == 2
			})
			first.h.Sim.Close()
			db.Close()

			db2 := simtest.OpenDB(t, url)
			second := newCP(t, simtest.OnBackend(db2))
			if late.count() != 0 {
				t.Fatal("the held-back notification came before its time")
			}
			second.advance(time.Minute)
			got := late.wait(t, 1)
			if err := second.sys.VerifyNotification(got[0]); err != nil {
				t.Fatalf("the resumed notification does not verify: %v", err)
			}
			if bodies := retried.wait(t, 2); string(bodies[1]) != string(bodies[0]) {
				t.Fatal("the resumed retry is not the notification first sent")
			}
			second.advance(24 * time.Hour)
			if late.count() != 1 || retried.count() != 2 {
				t.Fatalf("late got %d, retried got %d; want 1 and 2", late.count(), retried.count())
			}
			if ev := second.h.Sim.Journal().Query(journal.Filter{Kind: "delivery.resumed"}); len(ev) != 2 {
				t.Fatalf("journaled %d resumed deliveries, want 2", len(ev))
			}
		})
	}
}
