package openapi

import (
	"context"
	"net/http"

	"github.com/pspsim/pspsim/simulator/openapi/schema"
)

// Note is what a mount learned about a request, for whoever wraps the whole
// handler chain (the access log and the metrics): the mount's own context is
// not visible outside it, so the outer layer puts a Note in the context and
// the mount fills it in.
type Note struct {
	System    string // the mount's system, "" when no mount saw the request
	Operation string // the handler key: operationId, or CodePay's method; "" when unrouted
	// PathParams are the route's path parameters (payment ids and the
	// like), for the access log.
	PathParams map[string]string
	// WantBodyIDs asks the mount for the ids a request's body names
	// (BodyIDFields), read from the body it parsed anyway; the access log
	// sets it only when it will write the line, so that the metrics alone
	// never pay for it.
	WantBodyIDs bool
	BodyIDs     map[string]string
}

// BodyIDFields are the top-level body fields whose string values name the
// objects a request is about, across the three systems' dialects.
var BodyIDFields = []string{"orderNo", "tradeNo", "paymentId", "refundNumber", "refundId", "merchant_no", "merchant_order_no", "trans_no", "orig_trans_no"}

type noteKey struct{}

// WithNote returns ctx carrying an empty Note to fill. The context is the
// request's scope: the later layers of the handler stack put the request's
// other per-request values (its gate pass, the mount's Request) in it in
// place (EnterGate), so the outermost layer's copy of the *http.Request is
// the only one.
func WithNote(ctx context.Context) (context.Context, *Note) {
	s := &scope{Context: ctx}
	return s, &s.note
}

// WithNoteRecorder is WithNote, and a StatusRecorder over w allocated with
// the scope (the access log's, one allocation fewer).
func WithNoteRecorder(ctx context.Context, w http.ResponseWriter) (context.Context, *Note, *StatusRecorder) {
	s := &scope{Context: ctx}
	s.status.ResponseWriter = w
	return s, &s.note, &s.status
}

func noteFrom(ctx context.Context) *Note {
	n, _ := ctx.Value(noteKey{}).(*Note)
	return n
}

// bodyIDs reads BodyIDFields from the top level of a parsed body: strings of
// at most 64 bytes.
func bodyIDs(doc *schema.Doc) map[string]string {
	if doc == nil || doc.Node(doc.Root()).Kind != schema.Object {
		return nil
	}
	var out map[string]string
	for _, f := range BodyIDFields {
		m := doc.Member(doc.Root(), f)
		if m < 0 || doc.Node(m).Kind != schema.String {
			continue
		}
		if v := doc.Text(m); v != "" && len(v) <= 64 {
			if out == nil {
				out = map[string]string{}
			}
			out[f] = v
		}
	}
	return out
}
