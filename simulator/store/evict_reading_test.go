package store_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/store"
)

type ReadingBase struct {
	Status string `json:"status"`
	Final  bool   `json:"final"`
}

// readingPayment has what eviction skips (pointers, slices, times) around
// what it reads, some of it in an embedded struct.
type readingPayment struct {
	ID string `json:"id"`
	ReadingBase
	History []string   `json:"history"`
	At      *time.Time `json:"at,omitempty"`
	Pending int64      `json:"pending"`
	Note    string     `json:"note"`
}

// TestEvictableReadingEvictsAsEvictable holds a table whose eviction reads
// only some fields to one that decodes them all: the same objects go.
func TestEvictableReadingEvictsAsEvictable(t *testing.T) {
	ok := func(p *readingPayment, _ store.Peek) bool {
		return p.Final && p.Status != "held" && p.Pending == 0
	}
	tables := []store.Table[readingPayment]{
		store.NewTable(store.NewMemoryWith(store.MemoryOptions{Retention: store.Retention{MaxObjects: 40}}), "payment",
			store.Evictable(ok)),
		store.NewTable(store.NewMemoryWith(store.MemoryOptions{Retention: store.Retention{MaxObjects: 40}}), "payment",
			store.EvictableReading([]string{"ReadingBase.Final", "ReadingBase.Status", "Pending"}, ok)),
	}
	at := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for i := range 500 {
		p := readingPayment{
			ID:          fmt.Sprint("p", i),
			ReadingBase: ReadingBase{Status: []string{"held", "done", "open"}[i%3], Final: i%4 != 1},
			History:     []string{"created", fmt.Sprint(i)},
			Pending:     int64(i % 5 / 4),
			Note:        "a note written twice: a note written twice",
		}
		if i%2 == 0 {
			p.At = &at
		}
		for _, tab := range tables {
			if err := tab.Create(ctx, p.ID, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	var kept [2][]string
	for i, tab := range tables {
		all, err := tab.List(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range all {
			kept[i] = append(kept[i], p.ID)
		}
	}
	if len(kept[0]) >= 500 || !slices.Equal(kept[0], kept[1]) {
		t.Fatalf("kept %d objects by decoding them all, %d by reading some: %q, %q", len(kept[0]), len(kept[1]), kept[0], kept[1])
	}
}

func TestEvictableReadingRefusesAFieldItDoesNotStore(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("a table evicting on a field T does not have was made")
		}
	}()
	store.NewTable(store.NewMemory(), "payment",
		store.EvictableReading([]string{"Pendng"}, func(*readingPayment, store.Peek) bool { return true }))
}
