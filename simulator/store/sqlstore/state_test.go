package sqlstore_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/pspsim/pspsim/simulator/store"
	"github.com/pspsim/pspsim/simulator/store/sqlstore/pgtest"
)

// TestStateDocumentsAndCounters: a document's version moves on every save
// and never repeats after a reset; counters added to by many writers at once
// lose no addition; both belong to their namespace, and the namespace's
// reset (or deletion) empties them with its objects.
func TestStateDocumentsAndCounters(t *testing.T) {
	for _, tc := range pgtest.Stores() {
		t.Run(tc.Name, func(t *testing.T) {
			db := open(t, tc.URL(t))
			st, _ := db.State(ctx, "a")
			other, _ := db.State(ctx, "b")
			if _, _, err := st.Load(ctx, "faults"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("a missing document: %v; want ErrNotFound", err)
			}
			if v, err := st.Version(ctx, "faults"); v != 0 || err != nil {
				t.Fatalf("a missing document's version: %d, %v; want 0", v, err)
			}
			v1, err := st.Save(ctx, "faults", []byte(`[1]`))
			if err != nil {
				t.Fatal(err)
			}
			v2, _ := st.Save(ctx, "faults", []byte(`[2]`))
			doc, v, err := st.Load(ctx, "faults")
			if err != nil || string(doc) != `[2]` || v != v2 || v2 == v1 {
				t.Fatalf("load: %s v%d %v; saves gave v%d then v%d", doc, v, err, v1, v2)
			}
			if _, _, err := other.Load(ctx, "faults"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("namespace b sees a's document: %v", err)
			}

			const writers, each = 8, 25
			var wg sync.WaitGroup
			for range writers {
				wg.Go(func() {
					for range each {
						if _, err := st.Add(ctx, "faults/x/matched", 1); err != nil {
							t.Error(err)
						}
					}
				})
			}
			wg.Wait()
			st.Add(ctx, "canaries/y", 3)
			other.Add(ctx, "faults/x/matched", 1)
			c, err := st.Counters(ctx, "faults/")
			if err != nil || len(c) != 1 || c["faults/x/matched"] != writers*each {
				t.Fatalf("counters: %v, %v; want faults/x/matched = %d", c, err, writers*each)
			}
			if err := st.DeleteCounters(ctx, "faults/"); err != nil {
				t.Fatal(err)
			}
			c, _ = st.Counters(ctx, "")
			if len(c) != 1 || c["canaries/y"] != 3 {
				t.Fatalf("after deleting faults/: %v; want only canaries/y", c)
			}

			if err := db.Namespace(store.Scope{Namespace: "a"}).Reset(ctx); err != nil {
				t.Fatal(err)
			}
			if v, _ := st.Version(ctx, "faults"); v != 0 {
				t.Fatalf("a reset kept the document (v%d)", v)
			}
			if c, _ := st.Counters(ctx, ""); len(c) != 0 {
				t.Fatalf("a reset kept the counters: %v", c)
			}
			if c, _ := other.Counters(ctx, ""); c["faults/x/matched"] != 1 {
				t.Fatalf("a's reset touched b's counters: %v", c)
			}
			v3, _ := st.Save(ctx, "faults", []byte(`[3]`))
			if v3 == v1 || v3 == v2 {
				t.Fatalf("a saved-again document repeats a version: v%d (before v%d, v%d)", v3, v1, v2)
			}
		})
	}
}
