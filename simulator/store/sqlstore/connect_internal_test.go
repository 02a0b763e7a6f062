package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pspsim/pspsim/simulator/store/sqlstore/pgtest"
)

// refusing is a connector that refuses its first n connections with err.
type refusing struct {
	n     int
	err   error
	calls int
}

func (r *refusing) Connect(context.Context) (driver.Conn, error) {
	r.calls++
	if r.calls <= r.n {
		return nil, r.err
	}
	return nil, nil // a connection (never used here)
}

func (r *refusing) Driver() driver.Driver { return nil }

// TestPatientConnectorWaitsOnlyForPassingRefusals: a server that is full
// (53300) or starting (57P03) is asked again, with growing waits; any other
// refusal (a wrong password) is returned at once; and the waiting ends.
func TestPatientConnectorWaitsOnlyForPassingRefusals(t *testing.T) {
	cases := []struct {
		name      string
		err       error
		refusals  int
		patience  time.Duration
		wantCalls int
		wantErr   bool
	}{
		{"full server", &pgconn.PgError{Code: "53300"}, 3, time.Minute, 4, false},
		{"starting server", &pgconn.PgError{Code: "57P03"}, 1, time.Minute, 2, false},
		{"wrong password", &pgconn.PgError{Code: "28P01"}, 5, time.Minute, 1, true},
		{"not a server error", errors.New("dial tcp: connection refused"), 5, time.Minute, 1, true},
		{"full for longer than its patience", &pgconn.PgError{Code: "53300"}, 1000, 200 * time.Millisecond, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inner := &refusing{n: tc.refusals, err: tc.err}
			var waits []time.Duration
			c := &patientConnector{inner: inner, patience: tc.patience, sleep: func(_ context.Context, d time.Duration) error {
				waits = append(waits, d)
				time.Sleep(d / 10) // wall time: lets the patience run out
				return nil
			}}
			_, err := c.Connect(context.Background())
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %t", err, tc.wantErr)
			}
			if tc.wantCalls > 0 && inner.calls != tc.wantCalls {
				t.Errorf("asked the server %d times, want %d", inner.calls, tc.wantCalls)
			}
			for i := 1; i < len(waits); i++ {
				if waits[i] < waits[i-1] || waits[i] > 500*time.Millisecond {
					t.Errorf("waits %v: want growing, at most 500ms", waits)
					break
				}
			}
		})
	}
}

// TestConnectionsPlanEachStatementForItsArguments: pspsim's PostgreSQL
// connections use custom plans (see newPatientConnector), unless the URL
// says otherwise.
func TestConnectionsPlanEachStatementForItsArguments(t *testing.T) {
	for _, c := range []struct{ query, want string }{
		{"", "force_custom_plan"},
		{"&plan_cache_mode=auto", "auto"},
	} {
		db, err := Open(context.Background(), pgtest.URL(t)+c.query)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		err = db.db.QueryRowContext(context.Background(), "SHOW plan_cache_mode").Scan(&got)
		db.Close()
		if err != nil || got != c.want {
			t.Errorf("URL%s: plan_cache_mode %q (%v), want %q", c.query, got, err, c.want)
		}
	}
}
