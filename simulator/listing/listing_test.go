package listing

import (
	"context"
	"fmt"
	"testing"

	"github.com/pspsim/pspsim/simulator/store"
)

type doc struct {
	ID string `json:"id"`
}

func TestNewestPagesBackwards(t *testing.T) {
	ctx := context.Background()
	st := store.NewMemory()
	for i := range 7 {
		id := fmt.Sprintf("p%d", i)
		st.Create(ctx, "k", id, []byte(`{"id":"`+id+`"}`))
	}
	ids := func(r Result[doc]) string {
		s := ""
		for _, d := range r.Items {
			s += d.ID + " "
		}
		return s
	}
	first, err := Newest[doc](ctx, st, "k", Page{Limit: 3}, nil)
	if err != nil || ids(first) != "p6 p5 p4 " || first.Next != "p4" || first.Total != 7 {
		t.Fatalf("first page: %q next %q total %d err %v", ids(first), first.Next, first.Total, err)
	}
	second, _ := Newest[doc](ctx, st, "k", Page{Limit: 3, Before: first.Next}, nil)
	if ids(second) != "p3 p2 p1 " || second.Next != "p1" {
		t.Fatalf("second page: %q next %q", ids(second), second.Next)
	}
	last, _ := Newest[doc](ctx, st, "k", Page{Limit: 3, Before: second.Next}, nil)
	if ids(last) != "p0 " || last.Next != "" {
		t.Fatalf("last page: %q next %q", ids(last), last.Next)
	}
	odd, _ := Newest[doc](ctx, st, "k", Page{}, func(id string) bool { return id[1]%2 == 1 })
	if ids(odd) != "p5 p3 p1 " || odd.Total != 3 {
		t.Fatalf("filtered: %q total %d", ids(odd), odd.Total)
	}
	none, _ := Newest[doc](ctx, st, "missing", Page{}, nil)
	if len(none.Items) != 0 || none.Total != 0 {
		t.Fatalf("an empty kind gave %v", none)
	}
}
