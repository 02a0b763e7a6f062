package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

type evictPayment struct {
	ID     string
	Status string
}

type evictClaim struct {
	Kind string
	Ref  string
}

// evictKinds is a gateway's payments and their order numbers' claims (each
// stored before its payment, evictable once its payment is gone) in a
// store retaining limit objects of a kind; asked counts the claims'
// Evictable calls.
func evictKinds(limit int, scanAll bool, asked *int) (*Memory, Table[evictPayment], Table[evictClaim]) {
	m := NewMemoryWith(MemoryOptions{Retention: Retention{MaxObjects: limit}})
	m.scanAll = scanAll
	payments := NewTable(m, "payment",
		Index("status", func(p *evictPayment) string { return p.Status }),
		Evictable(func(p *evictPayment, _ Peek) bool { return p.Status == "captured" }))
	claims := NewTable(m, "claim", Evictable(func(c *evictClaim, peek Peek) bool {
		*asked++
		return !peek.Exists("payment", c.Ref)
	}))
	return m, payments, claims
}

func ids(m *Memory, kind string) []string {
	var out []string
	m.ListIDs(context.Background(), kind, func(id string) bool { out = append(out, id); return true })
	return out
}

// TestEvictionRoundsStopWhereAFullScanFindsNoMore: an order number's claim
// goes once its payment has, and the newest claim's payment is never
// stored yet, so that every claims' round is short of the limit; it stops
// at the run of claims whose payments are kept instead of asking of every
// one of them, and keeps exactly what scanning them all keeps — after every
// create, with payments of which a few stay pending (never evicted) — for
// a third of the questions (2 a claim stored instead of 6).
func TestEvictionRoundsStopWhereAFullScanFindsNoMore(t *testing.T) {
	ctx := context.Background()
	var askedFull, asked int
	ref, refPayments, refClaims := evictKinds(200, true, &askedFull)
	m, payments, claims := evictKinds(200, false, &asked)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		id := fmt.Sprint("p", i)
		status := "captured"
		if r.IntN(1000) == 0 {
			status = "authorized"
		}
		for _, s := range []struct {
			payments Table[evictPayment]
			claims   Table[evictClaim]
		}{{refPayments, refClaims}, {payments, claims}} {
			if err := s.claims.Create(ctx, "order/"+id, evictClaim{Kind: "payment", Ref: id}, "ref/"+id); err != nil {
				t.Fatal(err)
			}
			if err := s.payments.Create(ctx, id, evictPayment{ID: id, Status: status}); err != nil {
				t.Fatal(err)
			}
		}
		for _, kind := range []string{"payment", "claim"} {
			if got, want := ids(m, kind), ids(ref, kind); !slices.Equal(got, want) {
				t.Fatalf("after %d payments: %d %s kept, %d by scanning every round to the end", i+1, len(got), kind, len(want))
			}
		}
	}
	if asked*2 > askedFull {
		t.Fatalf("the claims' rounds asked %d times, %d when scanning to the end: want half at most", asked, askedFull)
	}
	// What an evicted claim held is gone with it.
	if _, err := claims.LookupID(ctx, "ref/p0"); err == nil {
		t.Fatal("an evicted claim's unique key still resolves")
	}
}

// TestEvictionRoundGoesPastARunWhileAboveWhatTheLastOneLeft: a round stops
// at a run of objects it may not evict only once the kind is back to what
// the last round left it (the limit, the first time): until then it goes
// on past the run, as every round did.
func TestEvictionRoundGoesPastARunWhileAboveWhatTheLastOneLeft(t *testing.T) {
	ctx := context.Background()
	var asked int
	m, payments, _ := evictKinds(100, false, &asked) // slack and gap: 10
	// p0..p4 captured, p5..p39 pending (a run of 35), then captured.
	for i := range 112 {
		status := "captured"
		if i >= 5 && i < 40 {
			status = "authorized"
		}
		if err := payments.Create(ctx, fmt.Sprint("p", i), evictPayment{Status: status}); err != nil {
			t.Fatal(err)
		}
	}
	// The first round (at 101) evicted p0; the second (at 111) p1..p4,
	// then went on past the run and evicted p40..p46, down to the limit.
	got := ids(m, "payment")
	if len(got) != 100 || got[0] != "p5" || !slices.Contains(got, "p39") || slices.Contains(got, "p46") || !slices.Contains(got, "p47") {
		t.Fatalf("kept %d payments, from %s: want p5..p39 and p47.. (100)", len(got), got[0])
	}
}

// TestEvictionRoundsKeepAboutWhatFullRoundsKeep: under random
// evictability (bursts of pending payments longer than the gap, some
// captured later), the rounds that stop early keep no more than the
// rounds that scan to the end ever had to (plus the slack), and once every
// payment is final the kind is back at its limit, as with them.
func TestEvictionRoundsKeepAboutWhatFullRoundsKeep(t *testing.T) {
	ctx := context.Background()
	var asked int
	const limit, slack = 300, 30
	ref, refPayments, _ := evictKinds(limit, true, &asked)
	m, payments, _ := evictKinds(limit, false, &asked)
	r := rand.New(rand.NewPCG(5, 6))
	var pending []string
	most := 0
	create := func(id, status string) {
		for _, tb := range []Table[evictPayment]{refPayments, payments} {
			if err := tb.Create(ctx, id, evictPayment{ID: id, Status: status}); err != nil {
				t.Fatal(err)
			}
		}
	}
	capture := func(id string) {
		for _, tb := range []Table[evictPayment]{refPayments, payments} {
			tb.Update(ctx, id, func(p *evictPayment) error { p.Status = "captured"; return nil })
		}
	}
	for i := range 20000 {
		id := fmt.Sprint("p", i)
		status := "captured"
		if i%1000 < 60 || r.IntN(10) == 0 {
			status = "authorized"
			pending = append(pending, id)
		}
		create(id, status)
		if len(pending) > 0 && r.IntN(3) == 0 {
			k := r.IntN(len(pending))
			capture(pending[k])
			pending = slices.Delete(pending, k, k+1)
		}
		most = max(most, ref.Count("payment"))
		if n := m.Count("payment"); n > most+slack {
			t.Fatalf("after %d payments: %d kept; full rounds kept %d at most", i+1, n, most)
		}
	}
	for _, id := range pending {
		capture(id)
	}
	for i := range 2 * limit {
		create(fmt.Sprint("q", i), "captured")
	}
	if n, want := m.Count("payment"), ref.Count("payment"); n != want || n > limit+slack {
		t.Fatalf("%d payments kept once all are final, %d by full rounds: want the same, about the limit (%d)", n, want, limit)
	}
}

// TestEvictionWalksNoRemovedObjectTwice: behind a payment that stays
// pending (the oldest), every round used to walk again what the rounds
// before it had removed, until half the creation order was dead (5 objects
// walked for every one evicted); each round now drops from the order all
// it walked and removed, keeping what it left in creation order, and
// evicts what it did.
func TestEvictionWalksNoRemovedObjectTwice(t *testing.T) {
	ctx := context.Background()
	var asked int
	m, payments, claims := evictKinds(100, false, &asked)
	r := rand.New(rand.NewPCG(9, 10))
	var want []string // the payments pending, and the newest 100 captured ones
	for i := range 3000 {
		id := fmt.Sprint("p", i)
		status := "captured"
		if i == 0 || r.IntN(200) == 0 {
			status = "authorized"
		}
		if err := claims.Create(ctx, "order/"+id, evictClaim{Kind: "payment", Ref: id}, "ref/"+id); err != nil {
			t.Fatal(err)
		}
		if err := payments.Create(ctx, id, evictPayment{ID: id, Status: status}); err != nil {
			t.Fatal(err)
		}
		if status == "authorized" {
			want = append(want, id)
		}
		m.mu.RLock()
		for _, kind := range []string{"payment", "claim"} {
			tb := m.kinds[kind]
			if tb.dead != 0 || len(tb.order) != tb.count {
				t.Fatalf("after %d payments: %d %ss in the creation order for %d kept (%d dead)", i+1, len(tb.order), kind, tb.count, tb.dead)
			}
			for j, o := range tb.order {
				if o.removed || j > 0 && o.seq < tb.order[j-1].seq {
					t.Fatalf("after %d payments: %s %s at %d of the order: removed %v, out of order", i+1, kind, o.id, j, o.removed)
				}
			}
		}
		m.mu.RUnlock()
	}
	got := ids(m, "payment")
	for _, id := range want {
		if !slices.Contains(got, id) {
			t.Fatalf("pending payment %s was evicted", id)
		}
	}
	if len(got) > 110 || !slices.Contains(got, "p2999") {
		t.Fatalf("%d payments kept (limit 100, slack 10), the newest one %v", len(got), slices.Contains(got, "p2999"))
	}
}
