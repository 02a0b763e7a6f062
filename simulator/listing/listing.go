// Package listing pages through one kind of stored object, newest first,
// without decoding the whole kind: the first pass collects ids only, then
// only the page's documents are read and decoded. It is what the dashboard
// and the admin lists use so that a store holding tens of thousands of
// payments answers the first page in microseconds per object shown, not per
// object stored.
package listing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/pspsim/pspsim/simulator/store"
)

// Page asks for at most Limit objects created before the object Before
// (the newest when Before is empty).
type Page struct {
	Limit  int
	Before string
}

// DefaultLimit is a page's size when Limit ≤ 0.
const DefaultLimit = 25

// Result is one page, newest first. Next is the Before of the following
// (older) page, empty on the last; Total counts every object of the kind
// that the id filter kept.
type Result[T any] struct {
	Items []T
	Next  string
	Total int
}

// Newest reads a page of kind from st. keep, when not nil, selects by id
// before anything is decoded; an object that vanished between the two
// passes (a reset) is skipped.
func Newest[T any](ctx context.Context, st store.Store, kind string, p Page, keep func(id string) bool) (Result[T], error) {
	var ids []string
	add := func(id string) bool {
		if keep == nil || keep(id) {
			ids = append(ids, id)
		}
		return true
	}
	var err error
	if l, ok := st.(store.IDLister); ok {
		err = l.ListIDs(ctx, kind, add)
	} else {
		err = st.List(ctx, kind, func(id string, _ []byte) bool { return add(id) })
	}
	if err != nil {
		return Result[T]{}, fmt.Errorf("list %s: %w", kind, store.Failed(err))
	}
	out := Result[T]{Total: len(ids)}
	end := len(ids)
	if p.Before != "" {
		end = 0
		for i := len(ids) - 1; i >= 0; i-- {
			if ids[i] == p.Before {
				end = i
				break
			}
		}
	}
	limit := p.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	start := max(end-limit, 0)
	for i := end - 1; i >= start; i-- {
		doc, err := st.Get(ctx, kind, ids[i])
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return out, fmt.Errorf("read %s %q: %w", kind, ids[i], store.Failed(err))
		}
		var v T
		if err := json.Unmarshal(doc, &v); err != nil {
			return out, fmt.Errorf("decode %s %q: %w", kind, ids[i], err)
		}
		out.Items = append(out.Items, v)
	}
	if start > 0 {
		out.Next = ids[start]
	}
	return out, nil
}

// Map turns a page of stored objects into a page of views.
func Map[T, R any](r Result[T], view func(T) R) Result[R] {
	out := Result[R]{Next: r.Next, Total: r.Total}
	for _, x := range r.Items {
		out.Items = append(out.Items, view(x))
	}
	return out
}
