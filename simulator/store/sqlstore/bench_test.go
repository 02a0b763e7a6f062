package sqlstore_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/pspsim/pspsim/simulator/store"
	"github.com/pspsim/pspsim/simulator/store/sqlstore/pgtest"
)

type benchPayment struct {
	ID       string            `json:"id"`
	Merchant string            `json:"merchant"`
	Amount   int64             `json:"amount"`
	Status   string            `json:"status"`
	Meta     map[string]string `json:"meta"`
}

// BenchmarkStores compares one table's Create, Get and Update on the three
// stores in one run (go test -bench Stores ./simulator/store/sqlstore):
// the price of durability per operation.
func BenchmarkStores(b *testing.B) {
	backends := []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"memory", func(*testing.B) store.Store { return store.NewMemory() }},
		{"sqlite", func(b *testing.B) store.Store {
			return open(b, "sqlite:"+filepath.Join(b.TempDir(), "bench.db")).Namespace(store.Scope{Namespace: "bench"})
		}},
		{"postgres", func(b *testing.B) store.Store {
			return open(b, pgtest.URL(b)).Namespace(store.Scope{Namespace: "bench"})
		}},
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			t := store.NewTable(be.open(b), "payment", store.Index("merchant", func(p *benchPayment) string { return p.Merchant }))
			v := benchPayment{Merchant: "m1", Amount: 1999, Status: "created", Meta: map[string]string{"orderNo": "A1", "env": "sandbox"}}
			n := 0
			b.Run("create", func(b *testing.B) {
				for b.Loop() {
					n++
					v.ID = fmt.Sprintf("p%d", n)
					if err := t.Create(ctx, v.ID, v, "order/"+v.ID); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("get", func(b *testing.B) {
				for b.Loop() {
					if _, err := t.Get(ctx, "p1"); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("update", func(b *testing.B) {
				for b.Loop() {
					if _, err := t.Update(ctx, "p1", func(p *benchPayment) error { p.Amount++; return nil }); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
