package openapi

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"

	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/openapi/schema"
)

// Tag names every system uses for the same facts, so that fault rules and
// the journal can match on them whatever system a request hit.
const (
	TagShop        = "shop"        // Genstore shop id
	TagApp         = "app"         // the caller's app: Genstore clientId, CodePay app_id, gateway appId
	TagMerchant    = "merchant"    // CodePay merchant_no, gateway merchant id
	TagStore       = "store"       // CodePay store_no
	TagTerminal    = "terminal"    // CodePay terminal_sn
	TagEnvironment = "environment" // "sandbox" or "live"
)

// Request is what the mount learned about a request before calling its
// handler: which operation it is, its raw body (already validated), and who
// sent it. Handlers read it with FromContext.
type Request struct {
	System      string
	OperationID string
	Key         string // the handler key: the operationId or the dispatch value
	Operation   *openapi3.Operation
	Route       *routers.Route
	PathParams  map[string]string
	// Body is the request body the handler reads: as sent, or normalised
	// when the spec tolerated a departure (see Warnings).
	Body []byte
	// Sent is the body as sent when Body was normalised, else nil: what a
	// signature over the body covers (see Signed).
	Sent []byte
	// Warnings are the departures from the documented table the mount
	// tolerated (also sent as X-Pspsim-Warning headers).
	Warnings []Warning
	// Dialect renders errors the way this system does (the fault engine
	// answers injected errors with it).
	Dialect apierr.Dialect

	mu        sync.Mutex
	principal any
	// tags are the recorded tags, a key at most once, in tagBuf while they
	// fit (a request has two to four): a map cost two allocations a request.
	tags   []tag
	tagBuf [4]tag
	// authInputs is the scratch space of the request's authentication.
	authInputs authInputs
	// doc is the validator's parse of Body while the handler runs (nil
	// when Body was normalised, or once the mount has released it).
	doc *schema.Doc
	// bodyJSON says that the validator parsed Body as it is (see BodyJSON);
	// set before the handler runs, never changed after.
	bodyJSON bool
	// held is what the handler's wrapper keeps for the handler (Hold).
	held any
}

// Hold keeps v for the handler of the request and returns what was held
// before, for the caller to hold again once the handler has returned: a
// wrapper that collects what a handler says about its call (vmgateway's
// journal entry) hands it over here, where the handler finds it through
// FromContext, instead of in a context.WithValue carried by a copy of the
// *http.Request (two allocations a request).
func (r *Request) Hold(v any) (prev any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	prev, r.held = r.held, v
	return prev
}

// Held returns what Hold keeps, or nil.
func (r *Request) Held() any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.held
}

// BodyJSON reports that Body is one JSON value in valid UTF-8: the
// validator parsed it as it is (schema.Doc.Parse accepts nothing else:
// FuzzParseAcceptsOnlyValidJSON). A journal can take its view without
// checking it again (bodies.OfJSON).
func (r *Request) BodyJSON() bool { return r.bodyJSON }

// Decode stores the JSON body in the value v points to, as
// json.Unmarshal(r.Body, v) does — the same value, the same error. It reuses
// the validator's parse of the body when it can (schema.Doc.Decode), instead
// of parsing the body a second time.
func (r *Request) Decode(v any) error {
	r.mu.Lock()
	took := r.doc != nil && r.doc.Decode(v)
	r.mu.Unlock()
	if took {
		return nil
	}
	return json.Unmarshal(r.Body, v)
}

// keepDoc hands the handler the validator's parse of the body.
func (r *Request) keepDoc(d *schema.Doc) {
	r.mu.Lock()
	r.doc = d
	r.mu.Unlock()
}

// dropDoc takes the parse back, once the handler has returned: a handler's
// goroutine that decodes later parses the body again.
func (r *Request) dropDoc() *schema.Doc {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := r.doc
	r.doc = nil
	return d
}

// Signed returns the body as the client sent it: what its signature covers.
func (r *Request) Signed() []byte {
	if r.Sent != nil {
		return r.Sent
	}
	return r.Body
}

// Principal returns what the authentication function recorded (a token's
// shop and scopes, a gateway app...), or nil.
func (r *Request) Principal() any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.principal
}

// SetPrincipal records who sent the request.
func (r *Request) SetPrincipal(p any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.principal = p
}

// Tag records a fact about the request (merchant, shop, app, environment,
// amount) for fault matching and the journal.
func (r *Request) Tag(key, value string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.tags {
		if r.tags[i].key == key {
			r.tags[i].value = value
			return
		}
	}
	if r.tags == nil {
		r.tags = r.tagBuf[:0]
	}
	r.tags = append(r.tags, tag{key, value})
}

// tag is one recorded tag.
type tag struct{ key, value string }

// TagValue returns one recorded tag, or "" (the fault engine's hot path:
// cheaper than copying them all).
func (r *Request) TagValue(key string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range r.tags {
		if t.key == key {
			return t.value
		}
	}
	return ""
}

// Tags returns a copy of the recorded tags.
func (r *Request) Tags() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]string, len(r.tags))
	for _, t := range r.tags {
		out[t.key] = t.value
	}
	return out
}

type ctxKey struct{}

// FromContext returns the Request of the operation being served, or nil
// outside a mount.
func FromContext(ctx context.Context) *Request {
	r, _ := ctx.Value(ctxKey{}).(*Request)
	return r
}

// WithRequest stores r in ctx. The mount does it; tests of handlers may too.
func WithRequest(ctx context.Context, r *Request) context.Context {
	return context.WithValue(ctx, ctxKey{}, r)
}
