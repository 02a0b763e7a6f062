// Package canary finds card numbers where they must never be. A test (the
// conformance suite, a QA engineer) registers canary card numbers — Luhn-valid,
// unique, used for nothing else — pays with them, and the simulator checks the
// raw bytes of everything a payment app sends it or answers it: requests to
// Genstore's API (callbacks, account_authorize, the pay-transaction query),
// the app's answers to Genstore's requests (acknowledgements, query answers)
// and to the PSPs' webhooks, and requests to the PSPs outside the fields where
// a card number legitimately travels (the card gateway's cardNo). Every sighting is
// journaled as privacy.leak with the masked number and where it was seen.
//
// The journal masks card numbers on the way in, so it can show that a leak
// happened but never reveal one by itself; the registry compares raw bytes
// before anything is masked.
package canary

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/pan"
	"github.com/pspsim/pspsim/simulator/store"
)

// Kind is the journal kind of a sighting.
const Kind = "privacy.leak"

// MaxCanaries bounds the registry: a long-running sandbox whose tests never
// clear it must not grow without end (the oldest go first).
const MaxCanaries = 10_000

// Canary is one registered number, as the admin API shows it: never the
// number itself.
type Canary struct {
	Masked    string    `json:"masked"`
	Label     string    `json:"label,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	// Sightings counts the places it was seen since it was registered.
	Sightings int `json:"sightings"`
}

// Sighting is one place a canary was seen.
type Sighting struct {
	Masked string
	Label  string
	Where  string // "genstore callback PUT /api/202412/app/payment/PI…", "acknowledgement of payment PI…"
	Part   string // "body", "query", "header X-Debug", "body field pay.reason"
}

// Registry holds the canaries. It is safe for concurrent use; the zero value
// is not: use New.
type Registry struct {
	clock   clock.Clock
	journal *journal.Journal

	mu      sync.RWMutex
	numbers map[string]*entry
	order   []string

	// Durable (durable.go): nil state keeps the registry in memory only.
	state     store.State
	version   int64
	log       *slog.Logger
	done      chan struct{}
	closeOnce sync.Once
}

type entry struct {
	number string
	Canary
}

// New returns an empty registry that journals sightings in j.
func New(c clock.Clock, j *journal.Journal) *Registry {
	return &Registry{clock: c, journal: j, numbers: map[string]*entry{}}
}

// Add registers card numbers (12 to 19 digits, Luhn-valid) under a label. A
// number already registered keeps its sightings and takes the new label.
func (r *Registry) Add(numbers []string, label string) ([]Canary, error) {
	for i, n := range numbers {
		if len(n) < 12 || len(n) > 19 || !pan.Luhn(n) {
			return nil, fmt.Errorf("numbers[%d]: %s is not a Luhn-valid card number of 12 to 19 digits", i, pan.Mask(n))
		}
	}
	now := r.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refresh()
	out := make([]Canary, 0, len(numbers))
	for _, n := range numbers {
		e, ok := r.numbers[n]
		if !ok {
			e = &entry{number: n, Canary: Canary{Masked: pan.Mask(n), CreatedAt: now}}
			r.numbers[n] = e
			r.order = append(r.order, n)
		}
		e.Label = label
		out = append(out, e.Canary)
	}
	for len(r.order) > MaxCanaries {
		delete(r.numbers, r.order[0])
		r.order = r.order[1:]
	}
	r.persist()
	return out, nil
}

// List returns the canaries, oldest first.
func (r *Registry) List() []Canary {
	if r.state != nil {
		if err := r.sync(context.Background()); err != nil {
			r.log.Warn("canaries not reloaded from the store", "err", err)
		}
	}
	r.mu.RLock()
	out := make([]Canary, 0, len(r.order))
	for _, n := range r.order {
		out = append(out, r.numbers[n].Canary)
	}
	order := append([]string(nil), r.order...)
	r.mu.RUnlock()
	r.sightings(out, order)
	return out
}

// Clear forgets every canary (a simulator reset, or DELETE /_sim/canaries).
func (r *Registry) Clear() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refresh()
	n := len(r.order)
	r.numbers, r.order = map[string]*entry{}, nil
	if r.state != nil {
		if err := r.state.DeleteCounters(context.Background(), counterPrefix); err != nil {
			r.log.Warn("canary sightings not emptied in the store", "err", err)
		}
	}
	r.persist()
	return n
}

// Empty reports whether no canary is registered: the checks cost nothing then.
func (r *Registry) Empty() bool {
	if r == nil {
		return true
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.order) == 0
}

// find returns the canaries whose digits appear in b, either as they are or
// grouped by spaces, dashes or dots ("4000 1234 5600 0019").
func (r *Registry) find(b []byte) []*entry {
	if len(b) == 0 {
		return nil
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if len(r.order) == 0 {
		return nil
	}
	var compact []byte
	var hits []*entry
	for _, n := range r.order {
		if bytes.Contains(b, []byte(n)) {
			hits = append(hits, r.numbers[n])
			continue
		}
		if compact == nil {
			compact = stripSeparators(b)
		}
		if len(compact) != len(b) && bytes.Contains(compact, []byte(n)) {
			hits = append(hits, r.numbers[n])
		}
	}
	return hits
}

// stripSeparators removes the characters a card number is grouped with when
// they stand between two digits.
func stripSeparators(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i, c := range b {
		if (c == ' ' || c == '-' || c == '.') && i > 0 && i+1 < len(b) && isDigit(b[i-1]) && isDigit(b[i+1]) {
			continue
		}
		out = append(out, c)
	}
	return out
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// record journals one sighting per canary found.
func (r *Registry) record(hits []*entry, where, part string, ids map[string]string) []Sighting {
	if len(hits) == 0 {
		return nil
	}
	var out []Sighting
	r.mu.Lock()
	for _, e := range hits {
		e.Sightings++
		out = append(out, Sighting{Masked: e.Masked, Label: e.Label, Where: where, Part: part})
	}
	r.mu.Unlock()
	r.countSightings(hits)
	for _, s := range out {
		eids := map[string]string{"canary": s.Masked}
		for k, v := range ids {
			eids[k] = v
		}
		data := map[string]any{"masked": s.Masked, "where": s.Where, "part": s.Part}
		if s.Label != "" {
			data["label"] = s.Label
		}
		if r.journal != nil {
			r.journal.Record(journal.Event{System: "sim", Kind: Kind, IDs: eids, Data: data,
				Message: fmt.Sprintf("canary card %s seen in %s (%s)", s.Masked, s.Where, s.Part)})
		}
	}
	return out
}

// Check looks for canaries in raw bytes seen at where (part names which part
// of the message they are) and journals each sighting with ids.
func (r *Registry) Check(where, part string, ids map[string]string, b []byte) []Sighting {
	if r.Empty() {
		return nil
	}
	return r.record(r.find(b), where, part, ids)
}

// CheckJSON is Check for a body that may hold a card number legitimately in
// the fields named allowed (e.g. the card gateway's cardNo): their values are
// left out before the rest is searched. A body that is not JSON is searched
// whole. The part of a sighting names the field it was found in when that is
// the only place.
func (r *Registry) CheckJSON(where string, ids map[string]string, body []byte, allowed map[string]bool) []Sighting {
	if r.Empty() || len(body) == 0 {
		return nil
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if len(allowed) == 0 || dec.Decode(&v) != nil {
		return r.Check(where, "body", ids, body)
	}
	hits := r.find(body)
	if len(hits) == 0 {
		return nil
	}
	// Some canary is in the body: is it anywhere but in an allowed field?
	var out []Sighting
	for _, e := range hits {
		paths := locate(v, "", e.number, allowed)
		if len(paths) == 0 {
			continue // only where a card number belongs
		}
		sort.Strings(paths)
		out = append(out, r.record([]*entry{e}, where, "body field "+strings.Join(paths, ", "), ids)...)
	}
	return out
}

// locate returns the dotted paths of the values (and keys) of v that contain
// number, skipping the values of allowed keys.
func locate(v any, path, number string, allowed map[string]bool) []string {
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch x := v.(type) {
	case map[string]any:
		var out []string
		for k, val := range x {
			if strings.Contains(stripString(k), number) {
				out = append(out, join(k)+" (key)")
			}
			if allowed[k] {
				if _, scalar := val.(string); scalar {
					continue
				}
			}
			out = append(out, locate(val, join(k), number, allowed)...)
		}
		return out
	case []any:
		var out []string
		for i, val := range x {
			out = append(out, locate(val, fmt.Sprintf("%s[%d]", path, i), number, allowed)...)
		}
		return out
	case string:
		if strings.Contains(stripString(x), number) {
			return []string{path}
		}
	case json.Number:
		if strings.Contains(x.String(), number) {
			return []string{path}
		}
	}
	return nil
}

func stripString(s string) string {
	if !strings.ContainsAny(s, " -.") {
		return s
	}
	return string(stripSeparators([]byte(s)))
}

// CheckRequest looks for canaries in a request an app sent: its path and
// query, its headers, and its body (with allowed fields left out, see
// CheckJSON). where names the receiving system and operation.
func (r *Registry) CheckRequest(where string, ids map[string]string, req *http.Request, body []byte, allowed map[string]bool) {
	if r.Empty() {
		return
	}
	r.Check(where, "path and query", ids, []byte(req.URL.RequestURI()))
	r.checkHeader(where, ids, req.Header)
	r.CheckJSON(where, ids, body, allowed)
}

// CheckAnswer looks for canaries in an answer an app gave: its headers and body.
func (r *Registry) CheckAnswer(where string, ids map[string]string, h http.Header, body []byte) {
	if r.Empty() {
		return
	}
	r.checkHeader(where, ids, h)
	r.Check(where, "body", ids, body)
}

func (r *Registry) checkHeader(where string, ids map[string]string, h http.Header) {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range h[k] {
			r.Check(where, "header "+k, ids, []byte(v))
		}
	}
}
