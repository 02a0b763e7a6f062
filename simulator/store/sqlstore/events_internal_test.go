package sqlstore

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/journal"
)

// TestFlushWaitsForTheBatchInFlight: Flush — what a read of the journal
// does first, so that a replica sees its own events at once — waits for a
// batch the background writer has taken from the pending rows and not yet
// committed, though nothing of the log is pending any more.
func TestFlushWaitsForTheBatchInFlight(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l := db.Events("ns", 1000).(*eventLog)
	w := l.w
	// The writer's first half of a flush: its turn, and the rows taken.
	w.fmu.Lock()
	held := true
	defer func() {
		if held { // a failure below: let Close have its turn
			w.fmu.Unlock()
		}
	}()
	l.Append(journal.Row{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), System: "sim", Kind: "test", IDs: []byte(`{}`), Body: []byte(`{}`)})
	w.mu.Lock()
	rows := w.pending[l]
	delete(w.pending, l)
	w.n -= len(rows)
	w.mu.Unlock()

	flushed := make(chan error, 1)
	go func() { flushed <- l.Flush(ctx) }()
	select {
	case err := <-flushed:
		t.Fatalf("Flush returned (%v) while the batch holding the log's event was being written", err)
	case <-time.After(100 * time.Millisecond): // wall time: long enough to see it did not return
	}
	// The writer's second half: the rows written, its turn over.
	if err := l.write(ctx, rows); err != nil {
		t.Fatal(err)
	}
	held = false
	w.fmu.Unlock()
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	if _, last, err := l.Bounds(ctx); err != nil || last != 1 {
		t.Fatalf("after Flush the log's last event is %d (%v); want 1", last, err)
	}
}
