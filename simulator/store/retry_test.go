package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/store"
	"github.com/pspsim/pspsim/simulator/store/storetest"
)

func TestRetryRetriesOnlyWhatTheStoreDidNotAnswer(t *testing.T) {
	refused := store.Failed(storetest.ErrRefused)
	own := errors.New("the callback's own error")
	for _, tc := range []struct {
		name  string
		errs  []error // what fn returns on each call; nil after the last
		calls int
		want  error
	}{
		{"an answer at once", nil, 1, nil},
		{"not found is an answer", []error{store.ErrNotFound}, 1, store.ErrNotFound},
		{"the callback's error is returned", []error{own}, 1, own},
		{"one refusal, then an answer", []error{refused}, 2, nil},
		{"three refusals, then an answer", []error{refused, refused, refused}, 4, nil},
		{"refused four times: given up", []error{refused, refused, refused, refused, refused}, 4, refused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			err := store.Retry(context.Background(), func() error {
				calls++
				if calls <= len(tc.errs) {
					return tc.errs[calls-1]
				}
				return nil
			})
			if calls != tc.calls || !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("%d calls, %v; want %d calls, %v", calls, err, tc.calls, tc.want)
			}
		})
	}
}

func TestRetryStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	calls := 0
	start := time.Now()
	err := store.Retry(ctx, func() error { calls++; return store.Failed(fmt.Errorf("get: %w", storetest.ErrRefused)) })
	if !errors.Is(err, store.ErrUnavailable) || calls != 3 && calls != 2 || time.Since(start) > time.Second {
		t.Fatalf("%d calls in %v, %v: want the refusal after the context's 100 ms", calls, time.Since(start), err)
	}
}
