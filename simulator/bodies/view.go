package bodies

import (
	"bytes"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/pan"
)

// View is a body whose view (Of's, or OfJSON's when trusted) is made as the
// journal records it, written straight into the event's data
// (journal.Appender): Of makes the view apart, and the journal copies it in
// and drops it — a card payment's request and answer, 1.2 KB and two
// allocations per request. The event holds exactly what it holds of
// journal.Any(key, Of(raw)) (TestViewIsOfInTheJournal, FuzzViewIsOfInTheJournal).
//
// The journal reads raw while it records the event: the caller keeps it
// unchanged until RecordFields returns, and passes a *View (a pointer in an
// interface costs no allocation).
type View struct {
	raw []byte
	// trusted says that raw is one JSON value in valid UTF-8 (OfJSON's
	// contract): it is not checked again.
	trusted bool
}

// ViewOf returns the View of raw; trusted is OfJSON's contract on raw.
func ViewOf(raw []byte, trusted bool) View { return View{raw: raw, trusted: trusted} }

// Empty says that the body is empty or space (Of gives nil): the journal
// is not to hold it.
func (v *View) Empty() bool { return len(bytes.TrimSpace(v.raw)) == 0 }

// AppendRedactedJSON implements journal.Appender: it appends what the
// journal appends of Of's view found under key — the JSON view as it is,
// or the text (clipped, not JSON) as a string masked by key.
func (v *View) AppendRedactedJSON(b []byte, key string) []byte {
	raw := bytes.TrimSpace(v.raw)
	if len(raw) == 0 {
		return append(b, "null"...)
	}
	container := raw[0] == '{' || raw[0] == '['
	if !v.trusted {
		if !utf8.Valid(raw) {
			raw = escapeInvalid(raw)
		}
		container = container && validJSON(raw)
	}
	if !container {
		return journal.AppendString(b, pan.Value(key, clip(pan.Scrub(string(raw)), len(raw))))
	}
	if len(raw) > Limit {
		// Likely clipped: made as the text it is then written as, in one
		// pass (appendTextView), unless that cannot be.
		var ok bool
		if b, ok = appendTextView(b, key, raw); ok {
			return b
		}
	}
	start := len(b)
	b = view(b, "", raw, start+Limit)
	if len(b)-start <= Limit {
		return b // JSON, appended as it is (journal.RedactedJSON)
	}
	// Clipped as clipOwned clips, in place, then written as the journal
	// writes a string after the text, which is then moved down over it.
	b = scrubCut(b[:start+clipAt(b[start:])], start)
	b = append(b, "… ("...)
	b = strconv.AppendInt(b, int64(len(raw)), 10)
	b = append(b, " bytes)"...)
	end := len(b)
	// The text is read where it lies: appending after end never writes over
	// it, and when b grows the old array still holds it. pan.Value returns
	// it or a new string, neither kept past this call, and AppendValue
	// reads it, or pan.Value's string, while it appends.
	text := unsafe.String(&b[start], end-start)
	b = journal.AppendValue(b, key, text)
	return append(b[:start], b[end:]...)
}
