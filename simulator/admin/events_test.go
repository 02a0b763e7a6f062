package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/openapi"
	"github.com/pspsim/pspsim/specs"
)

type eventsPage struct {
	Events    []journal.Event
	LastSeq   int64
	OldestSeq int64
	HasMore   bool
	Next      int64
	Prev      *int64
}

func newAdmin(t *testing.T, j *journal.Journal, c clock.Clock) *openapi.Mount {
	t.Helper()
	doc, err := openapi.Load(context.Background(), specs.FS(), "admin.yaml", Prefix, false)
	if err != nil {
		t.Fatal(err)
	}
	m, err := openapi.New(openapi.Config{System: "admin", Prefix: Prefix, Doc: doc, Dialect: Dialect{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := Register(m, Core{Clock: c, Journal: j, Reset: func(context.Context) error { return nil }, Systems: func() []SystemInfo { return nil }}); err != nil {
		t.Fatal(err)
	}
	return m
}

func getPage(t *testing.T, m *openapi.Mount, query string) eventsPage {
	t.Helper()
	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, httptest.NewRequest("GET", "/_sim/events?"+query, nil))
	if rec.Code != 200 {
		t.Fatalf("%s: %d %s", query, rec.Code, rec.Body)
	}
	var p eventsPage
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func seqs(p eventsPage) []int64 {
	var out []int64
	for _, e := range p.Events {
		out = append(out, e.Seq)
	}
	return out
}

func TestListEventsPagesByCursor(t *testing.T) {
	c := clock.NewSim(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
	j := journal.New(c, 0)
	for i := 1; i <= 250; i++ {
		sys := "vmgateway"
		if i%2 == 0 {
			sys = "codepay"
		}
		j.Record(journal.Event{System: sys, Kind: "payment.created", IDs: map[string]string{"orderNo": fmt.Sprint("O", i%10)}})
	}
	m := newAdmin(t, j, c)

	// The newest 100 by default, oldest first.
	p := getPage(t, m, "")
	if len(p.Events) != DefaultLimit || p.Events[0].Seq != 151 || p.Events[99].Seq != 250 || !p.HasMore || p.LastSeq != 250 || p.Next != 250 || *p.Prev != 151 {
		t.Fatalf("default page: %d events %v…, hasMore %v, next %d", len(p.Events), seqs(p)[:3], p.HasMore, p.Next)
	}
	// Backward with prev until the start.
	var back []int64
	for before := ""; ; {
		p := getPage(t, m, "limit=40"+before)
		back = append(seqs(p), back...)
		if !p.HasMore {
			break
		}
		before = fmt.Sprintf("&before=%d", *p.Prev)
	}
	if len(back) != 250 || back[0] != 1 || back[249] != 250 {
		t.Fatalf("backward: %d events", len(back))
	}
	// Forward with next from the start, filtered.
	var fwd []int64
	for after := int64(0); ; {
		p := getPage(t, m, fmt.Sprintf("system=codepay&orderNo=O4&limit=7&after=%d", after))
		fwd = append(fwd, seqs(p)...)
		if !p.HasMore {
			if p.Next != 250 {
				t.Fatalf("the last page's next is %d: every event up to 250 was looked at", p.Next)
			}
			break
		}
		after = p.Next
	}
	if len(fwd) != 25 || fwd[0] != 4 || fwd[24] != 244 {
		t.Fatalf("forward, filtered: %v", fwd)
	}
	// Polling with next answers only what is new.
	j.Record(journal.Event{System: "codepay", Kind: "payment.created", IDs: map[string]string{"orderNo": "O4"}})
	if p := getPage(t, m, "system=codepay&orderNo=O4&after=250"); len(p.Events) != 1 || p.Events[0].Seq != 251 || p.HasMore {
		t.Fatalf("poll: %v", seqs(p))
	}
	// Bad cursors and limits are refused in the admin dialect.
	for _, q := range []string{"after=-1", "before=x", "limit=0", "limit=10001"} {
		rec := httptest.NewRecorder()
		m.ServeHTTP(rec, httptest.NewRequest("GET", "/_sim/events?"+q, nil))
		if rec.Code != 400 {
			t.Errorf("%s: %d %s", q, rec.Code, rec.Body)
		}
	}
}
