package sqlstore_test

import (
	"sync"
	"testing"

	"github.com/pspsim/pspsim/simulator/store/sqlstore/pgtest"
)

// TestSaveIfIsACompareAndSwap: a conditional save succeeds only from the
// version it names (0: only a missing document), and of many writers
// swapping from one version at once exactly one wins.
func TestSaveIfIsACompareAndSwap(t *testing.T) {
	for _, tc := range pgtest.Stores() {
		t.Run(tc.Name, func(t *testing.T) {
			st, _ := open(t, tc.URL(t)).State(ctx, "a")
			v1, ok, err := st.SaveIf(ctx, "doc", []byte(`1`), 0)
			if err != nil || !ok {
				t.Fatalf("first save of a missing document: ok %v, %v", ok, err)
			}
			if _, ok, _ := st.SaveIf(ctx, "doc", []byte(`x`), 0); ok {
				t.Fatal("a save for a missing document replaced an existing one")
			}
			const writers = 8
			var (
				wg   sync.WaitGroup
				mu   sync.Mutex
				wins int
			)
			for range writers {
				wg.Go(func() {
					_, ok, err := st.SaveIf(ctx, "doc", []byte(`2`), v1)
					if err != nil {
						t.Error(err)
					}
					if ok {
						mu.Lock()
						wins++
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if wins != 1 {
				t.Fatalf("%d of %d swaps from one version won; want 1", wins, writers)
			}
			doc, v2, _ := st.Load(ctx, "doc")
			if string(doc) != `2` || v2 == v1 {
				t.Fatalf("after the swap: %s v%d (was v%d)", doc, v2, v1)
			}
			if _, ok, _ := st.SaveIf(ctx, "doc", []byte(`3`), v1); ok {
				t.Fatal("a swap from a stale version won")
			}
		})
	}
}
