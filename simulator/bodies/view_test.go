package bodies

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/journal"
)

// viewKeys are the keys a view is journaled under in the tests: the
// answer's and request's, and names that mask by name (a card number's, a
// secret's), which a clipped text must be masked by as the string would be.
var viewKeys = []string{"answer", "request", "number", "secret"}

// viewCases are bodies of every kind: OfJSON's, views over Limit (JSON
// clipped into text), texts, invalid UTF-8, empty.
func viewCases() []string {
	cases := append([]string{"", "  \n", "x", "not json, card 4000123456000019", "4000 1234 5600 0019", "{\"a\":\"\xff\"}", "[1,\xfe]",
		"{\"a\":1", `{"a":1} x`, "\xff" + strings.Repeat("z", 700),
		strings.Repeat("é€😀 card 4000123456000019 ", 40),
		`{"items":[` + strings.Repeat(`{"sku":"abcdefghij","n":7,"card":"4000123456000019"},`, 20) + `1]}`,
		`[` + strings.Repeat(`"é€😀",`, 300) + `""]`,
		`{"s":"` + strings.Repeat("y", 590) + `","t":"0123456789012"}`,
		`{"exactly":"` + strings.Repeat("z", Limit-14) + `"}`,
		`{"q":"` + strings.Repeat(`\"<&>`, 200) + `"}`,
		// A clipped answer whose text, masked again as a whole, changes: the
		// digits of two values meet across the cut's text.
		`{"a":"` + strings.Repeat("w", 560) + `","b":"4000 1234 5600 0019 4000"}`,
	}, ofJSONCases...)
	for i := 0; i < 40; i++ {
		cases = append(cases, `{"pad":"`+strings.Repeat("p", i)+`","items":[`+strings.Repeat(`{"k":"value","cvc":"123"},`, 30)+`1]}`)
	}
	return cases
}

// journaledAs is the event's JSON when v is journaled under key, between
// two other fields (so that the view is not the first thing written).
func journaledAs(j *journal.Journal, key string, v any) string {
	j.RecordFields(journal.Event{System: "s", Kind: "k"}, nil,
		[]journal.Field{journal.String("aaa", "x"), journal.Any(key, v), journal.Int("zzz", 1)})
	e := j.Page(journal.Filter{}, false, 1).Events[0]
	var seq struct{ Seq int64 }
	json.Unmarshal(e, &seq)
	return strings.Replace(string(e), `"seq":`+strconv.FormatInt(seq.Seq, 10), `"seq":0`, 1)
}

func newTestJournal() *journal.Journal { return journal.New(clock.NewSim(time.Unix(0, 0)), 0) }

// checkViewIsOf holds the View of body, trusted or not, to Of's (OfJSON's)
// view in the journal.
func checkViewIsOf(t testing.TB, j *journal.Journal, body []byte) {
	t.Helper()
	trusted := utf8.Valid(body) && json.Valid(body)
	for _, key := range viewKeys {
		v := ViewOf(body, false)
		if got, want := journaledAs(j, key, &v), journaledAs(j, key, Of(body)); got != want {
			t.Fatalf("View(%.80q) under %s journaled as\n%s\nOf's as\n%s", body, key, got, want)
		}
		if v.Empty() != (Of(body) == nil) {
			t.Fatalf("View(%q).Empty() = %v", body, v.Empty())
		}
		if trusted {
			v := ViewOf(body, true)
			if got, want := journaledAs(j, key, &v), journaledAs(j, key, OfJSON(body)); got != want {
				t.Fatalf("trusted View(%.80q) under %s journaled as\n%s\nOfJSON's as\n%s", body, key, got, want)
			}
		}
	}
}

func TestViewIsOfInTheJournal(t *testing.T) {
	j := newTestJournal()
	for _, c := range viewCases() {
		checkViewIsOf(t, j, []byte(c))
	}
	// Random documents over and under the limit.
	rng := rand.New(rand.NewPCG(7, 8))
	leaves := append(randomLeaves(), "0019 4000 1234 5600 0019")
	for range 3000 {
		b, _ := json.Marshal(randomDocument(rng, leaves, 8, 10))
		checkViewIsOf(t, j, b)
	}
}

// A View journaled through the Recorder's answer: the same as Body's.
func TestRecorderViewIsBody(t *testing.T) {
	j := newTestJournal()
	for _, c := range viewCases() {
		for _, whole := range []bool{true, false} {
			r := &Recorder{ResponseWriter: discard{}}
			if whole {
				r.WriteJSON([]byte(c))
			} else {
				r.Write([]byte(c))
			}
			if whole && !(utf8.ValidString(c) && json.Valid([]byte(c))) {
				continue // not what WriteJSON is given
			}
			v := r.View()
			if got, want := journaledAs(j, "answer", &v), journaledAs(j, "answer", r.Body()); got != want {
				t.Fatalf("View of %.60q journaled as\n%s\nBody's as\n%s", c, got, want)
			}
		}
	}
}

func FuzzViewIsOfInTheJournal(f *testing.F) {
	for _, c := range viewCases() {
		f.Add([]byte(c))
	}
	j := newTestJournal()
	f.Fuzz(func(t *testing.T, body []byte) {
		checkViewIsOf(t, j, body)
	})
}

// discard is a ResponseWriter that keeps nothing.
type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) WriteHeader(int)             {}

// A recorder keeping the answer in recycled memory (KeepIn), full of an
// earlier answer, journals what a new recorder does; Release hands the
// memory back and keeps nothing.
func TestRecorderKeepsInRecycledMemory(t *testing.T) {
	j := newTestJournal()
	var mem []byte
	for i, c := range viewCases() {
		for _, whole := range []bool{true, false} {
			if whole && !(utf8.ValidString(c) && json.Valid([]byte(c))) {
				continue
			}
			write := func(r *Recorder) {
				if whole {
					r.WriteJSON([]byte(c))
				} else {
					r.Write([]byte(c))
				}
			}
			fresh, reused := &Recorder{ResponseWriter: discard{}}, &Recorder{ResponseWriter: discard{}}
			write(fresh)
			reused.KeepIn(mem)
			write(reused)
			fv, rv := fresh.View(), reused.View()
			if got, want := journaledAs(j, "answer", &rv), journaledAs(j, "answer", &fv); got != want || reused.json != fresh.json {
				t.Fatalf("case %d: the recycled recorder journaled\n%s\nwant\n%s", i, got, want)
			}
			mem = reused.Release()
			if len(mem) == 0 && len(c) > 0 || reused.buf != nil || reused.json {
				t.Fatalf("case %d: Release gave %d bytes and kept %d", i, len(mem), len(reused.buf))
			}
		}
	}
	// Given after a write, the memory is not taken.
	r := &Recorder{ResponseWriter: discard{}}
	r.Write([]byte(`{"a":1}`))
	r.KeepIn(make([]byte, 0, 64))
	if string(r.buf) != `{"a":1}` {
		t.Errorf("KeepIn after a write: %q", r.buf)
	}
}
