package vmgateway

import (
	"encoding/json"
	"testing"
	"time"
)

// checkAppendTimeIsTs holds appendTime to ts(t) quoted, after other bytes.
func checkAppendTimeIsTs(t testing.TB, tm time.Time) {
	t.Helper()
	want := `x"` + ts(tm) + `"`
	if y := tm.UTC().Year(); y < 0 || y > 9999 {
		q, _ := json.Marshal(ts(tm)) // as Format writes it, quoted
		want = "x" + string(q)
	}
	if got := string(appendTime([]byte("x"), tm)); got != want {
		t.Fatalf("appendTime(%v) = %s, want %s", tm, got, want)
	}
}

// The times of an answer (UTC or not, to the nanosecond), the ends of the
// years written in four digits and past them.
func TestAppendTimeIsTs(t *testing.T) {
	east := time.FixedZone("east", 5*3600+30*60)
	for _, tm := range []time.Time{
		time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 0, east),
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(-1, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, east), // 9999 in UTC
		time.Date(999, 3, 4, 5, 6, 7, 8, time.UTC),
		{},
	} {
		checkAppendTimeIsTs(t, tm)
	}
}

func FuzzAppendTimeIsTs(f *testing.F) {
	f.Add(int64(1795341600), int64(0), 0)
	f.Add(int64(-62135596800), int64(0), 3600)
	f.Add(int64(253402300799), int64(999999999), -3600)
	f.Fuzz(func(t *testing.T, sec, nsec int64, offset int) {
		tm := time.Unix(sec, nsec).In(time.FixedZone("z", offset%(24*3600)))
		checkAppendTimeIsTs(t, tm)
	})
}
