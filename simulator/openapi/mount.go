package openapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/openapi/schema"
)

// DispatchExtension marks an operation whose handler is chosen by a body
// field: `x-pspsim-dispatch: method` on CodePay's POST /api/entry.
const DispatchExtension = "x-pspsim-dispatch"

// StreamExtension marks an operation whose answer is a stream (server-sent
// events): its response is not buffered for checking, since a buffered
// stream never reaches the client.
const StreamExtension = "x-pspsim-stream"

// DefaultMaxBody is the largest request body a mount reads (1 MiB).
const DefaultMaxBody = 1 << 20

// AuthFunc checks one security requirement of an operation. It returns an
// *apierr.Error (Unauthorized or Forbidden) to refuse, and may record the
// caller with FromContext(ctx).SetPrincipal.
type AuthFunc func(ctx context.Context, in *openapi3filter.AuthenticationInput) error

// ResponseCheck receives the result of validating a response against the
// spec. Tests install one that fails the test on any violation.
type ResponseCheck func(r *http.Request, operation string, status int, err error)

// Config describes one mount.
type Config struct {
	System  string         // "genstore", "codepay", "vmgateway", "admin"
	Prefix  string         // "/genstore"
	Doc     *openapi3.T    // loaded with Load(..., Prefix, ...)
	Dialect apierr.Dialect // renders every error of this mount
	// Auth checks security requirements. Without it, an operation that has
	// security fails every request with 401: nothing pretends to authenticate.
	Auth AuthFunc
	// MaxBody bounds the request body; 0 means DefaultMaxBody.
	MaxBody int64
	// CheckResponses, when set, validates every response of a routed request
	// against the spec and reports the outcome. Off in production (it buffers
	// the response); on in tests.
	CheckResponses ResponseCheck
	// Guard, when set, runs after validation and before Wrap and the handler:
	// checks a system makes in the body rather than through a security scheme
	// (CodePay's signature, timestamp and app). It records the caller with
	// Request.Tag so that faults can match on it, and returns false when it
	// has answered the request itself (a refusal).
	Guard func(w http.ResponseWriter, r *http.Request) bool
	// Wrap, when set, wraps the handler of every routed, validated request
	// (the fault engine hooks in here). The Request is in the context. The
	// wrapper receives the connection's own ResponseWriter, so it can hijack
	// and reset the connection; response checking happens inside it, around
	// the handler, so an answer a fault breaks on purpose is never checked.
	// It must be a plain middleware (what it returns decides per request,
	// from the request): the mount wraps each registered handler once, when
	// it is registered, and wraps per request only what changes per request
	// (a spec-example answer, a handler whose answer is checked).
	Wrap func(http.Handler) http.Handler
	// Strict refuses every departure from the documented tables, including
	// those the spec tolerates (x-pspsim-lenient); by default they are
	// answered normally, with an X-Pspsim-Warning header each and the
	// body normalised before the handler sees it.
	Strict bool
	// OnWarnings, when set, hears of every request answered with warnings
	// (the systems journal them as request.warning). It runs before the
	// handler, or before the refusal when the request is refused for
	// another reason.
	OnWarnings func(r *http.Request, req *Request, ws []Warning)
	// Specs, when set, compiles Doc once for every mount of the process that
	// serves it (namespaces): the router, request checks and fallback
	// answers are read-only and shared; handlers, Auth, Guard and Wrap stay
	// this mount's own. Nil compiles afresh.
	Specs *Specs
}

// Mount serves one spec.
type Mount struct {
	cfg Config
	*compiled
	opts     *openapi3filter.Options
	handlers map[string]http.Handler
	// wrapped are the handlers wrapped by cfg.Wrap once, at Handle: the
	// wrapper closure was an allocation per request.
	wrapped map[string]http.Handler
}

// compiled is what a mount derives from its spec alone: it never changes
// after New, so every mount of the same spec may share it.
type compiled struct {
	router *router
	keys   map[string]*operation // handler key → operation
	byID   map[string]*operation // operationId → operation
	ops    []*operation
}

type operation struct {
	id        string
	check     *requestCheck
	method    string
	path      string
	dispatch  string            // body field whose value picks the handler, or ""
	stream    bool              // x-pspsim-stream: the answer is not buffered for checking
	keys      []string          // operationId, or every dispatch value
	fallbacks map[string]answer // handler key → spec example answer
}

type answer struct {
	status      int
	contentType string
	body        []byte
}

// New builds a mount from cfg. It fails loudly when the spec cannot be served
// faithfully: no operationId, a dispatch operation without a discriminator
// mapping, or a success response without an example to fall back on.
func New(cfg Config) (*Mount, error) {
	if cfg.Doc == nil || cfg.Dialect == nil || cfg.System == "" {
		return nil, errors.New("openapi: mount needs System, Doc and Dialect")
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	var c *compiled
	var err error
	if cfg.Specs != nil {
		c, err = cfg.Specs.compile(cfg.System, cfg.Prefix, cfg.Doc)
	} else {
		c, err = compile(cfg.System, cfg.Prefix, cfg.Doc)
	}
	if err != nil {
		return nil, err
	}
	m := &Mount{cfg: cfg, compiled: c, handlers: map[string]http.Handler{}, wrapped: map[string]http.Handler{}}
	m.opts = &openapi3filter.Options{
		MultiError:          true,
		SkipSettingDefaults: true,
		SchemaValidationOptions: []openapi3.SchemaValidationOption{
			openapi3.WithStringFormatValidators(Formats()),
			openapi3.DisableSchemaErrorDetails(),
		},
	}
	if cfg.Auth != nil {
		m.opts.AuthenticationFunc = openapi3filter.AuthenticationFunc(cfg.Auth)
	} else {
		m.opts.AuthenticationFunc = func(context.Context, *openapi3filter.AuthenticationInput) error {
			return apierr.New(apierr.Unauthorized, "this operation requires authentication, which this simulator mount does not offer")
		}
	}
	return m, nil
}

// compile builds the router, the request checks and the fallback answers of
// a spec: the part of a mount that depends on the document alone.
func compile(system, prefix string, doc *openapi3.T) (*compiled, error) {
	router, err := newRouter(doc, prefix)
	if err != nil {
		return nil, fmt.Errorf("%s: router: %w", system, err)
	}
	c := &compiled{router: router, keys: map[string]*operation{}, byID: map[string]*operation{}}
	paths := doc.Paths.InMatchingOrder()
	// One pool of parsed bodies for the whole spec.
	docs := new(docPool)
	compiler := schema.NewCompiler(Formats())
	if err := compiler.SetDocumentLenience(doc.Extensions[schema.LenientExtension]); err != nil {
		return nil, fmt.Errorf("%s: %w", system, err)
	}
	for _, p := range paths {
		item := doc.Paths.Value(p)
		methods := make([]string, 0)
		for method := range item.Operations() {
			methods = append(methods, method)
		}
		sort.Strings(methods)
		for _, method := range methods {
			op, err := newOperation(system, method, p, item.GetOperation(method))
			if err != nil {
				return nil, err
			}
			if op.check, err = compileRequest(doc, item, item.GetOperation(method), compiler); err != nil {
				return nil, fmt.Errorf("%s: %s %s: %w", system, method, p, err)
			}
			op.check.docs = docs
			c.ops = append(c.ops, op)
			c.byID[op.id] = op
			for _, k := range op.keys {
				if prev, dup := c.keys[k]; dup {
					return nil, fmt.Errorf("%s: handler key %q used by %s %s and %s %s", system, k, prev.method, prev.path, method, p)
				}
				c.keys[k] = op
			}
		}
	}
	return c, nil
}

func newOperation(system, method, path string, op *openapi3.Operation) (*operation, error) {
	where := fmt.Sprintf("%s: %s %s", system, method, path)
	if op.OperationID == "" {
		return nil, fmt.Errorf("%s has no operationId", where)
	}
	o := &operation{id: op.OperationID, method: method, path: path, fallbacks: map[string]answer{}}
	if v, ok := op.Extensions[StreamExtension].(bool); ok {
		o.stream = v
	}
	if field, ok := op.Extensions[DispatchExtension].(string); ok {
		o.dispatch = field
		values, err := dispatchValues(op, field)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		o.keys = values
	} else {
		o.keys = []string{op.OperationID}
	}
	for _, k := range o.keys {
		a, err := exampleAnswer(op, k)
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", where, k, err)
		}
		o.fallbacks[k] = a
	}
	return o, nil
}

// dispatchValues reads the discriminator mapping of a dispatch operation's
// request body: its keys are the handler keys.
func dispatchValues(op *openapi3.Operation, field string) ([]string, error) {
	if op.RequestBody == nil || op.RequestBody.Value == nil {
		return nil, fmt.Errorf("%s %s needs a request body", DispatchExtension, field)
	}
	mt := op.RequestBody.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return nil, fmt.Errorf("%s needs an application/json body schema", DispatchExtension)
	}
	d := mt.Schema.Value.Discriminator
	if d == nil || d.PropertyName != field || len(d.Mapping) == 0 {
		return nil, fmt.Errorf("%s %s needs a discriminator on %q with an explicit mapping", DispatchExtension, field, field)
	}
	var values []string
	for v := range d.Mapping {
		values = append(values, v)
	}
	sort.Strings(values)
	return values, nil
}

// exampleAnswer picks what an operation answers before it has a handler: its
// first success response, with the example keyed by the handler key, else the
// only/first example. A JSON success response without any example is a spec
// defect and fails the mount.
func exampleAnswer(op *openapi3.Operation, key string) (answer, error) {
	codes := make([]int, 0)
	for code := range op.Responses.Map() {
		if n, err := strconv.Atoi(code); err == nil && n >= 200 && n < 300 {
			codes = append(codes, n)
		}
	}
	if len(codes) == 0 {
		return answer{}, errors.New("no 2xx response")
	}
	sort.Ints(codes)
	resp := op.Responses.Status(codes[0]).Value
	if resp == nil || len(resp.Content) == 0 {
		return answer{status: codes[0]}, nil
	}
	ct := "application/json"
	mt := resp.Content.Get(ct)
	if mt == nil {
		for c, m := range resp.Content {
			ct, mt = c, m
			break
		}
	}
	var ex any
	switch {
	case mt.Examples[key] != nil && mt.Examples[key].Value != nil:
		ex = mt.Examples[key].Value.Value
	case mt.Example != nil:
		ex = mt.Example
	case len(mt.Examples) > 0:
		names := make([]string, 0, len(mt.Examples))
		for n := range mt.Examples {
			names = append(names, n)
		}
		sort.Strings(names)
		if e := mt.Examples[names[0]]; e != nil && e.Value != nil {
			ex = e.Value.Value
		}
	case mt.Schema != nil && mt.Schema.Value != nil && mt.Schema.Value.Example != nil:
		ex = mt.Schema.Value.Example
	}
	if ex == nil {
		return answer{}, fmt.Errorf("response %d has no example to answer with", codes[0])
	}
	var body []byte
	if s, ok := ex.(string); ok && !strings.Contains(ct, "json") {
		body = []byte(s)
	} else {
		b, err := json.Marshal(ex)
		if err != nil {
			return answer{}, fmt.Errorf("response %d example: %w", codes[0], err)
		}
		body = b
	}
	return answer{status: codes[0], contentType: ct, body: body}, nil
}

// Handle registers the handler for a key: an operationId, or a dispatch
// value. An unknown key is an error, so a typo cannot leave an operation on
// its fallback silently.
func (m *Mount) Handle(key string, h http.Handler) error {
	if _, ok := m.keys[key]; !ok {
		return fmt.Errorf("%s: no operation %q in the spec", m.cfg.System, key)
	}
	m.handlers[key] = h
	if m.cfg.Wrap != nil {
		m.wrapped[key] = m.cfg.Wrap(h)
	}
	return nil
}

// HandleFunc registers a handler function for a key.
func (m *Mount) HandleFunc(key string, f func(http.ResponseWriter, *http.Request)) error {
	return m.Handle(key, http.HandlerFunc(f))
}

// Keys lists every handler key of the spec, sorted.
func (m *Mount) Keys() []string {
	out := make([]string, 0, len(m.keys))
	for k := range m.keys {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// OperationPath is an operation's method and path template, under the
// mount's prefix ("/vm/v1/payments/{tradeNo}").
type OperationPath struct{ Method, Path string }

// OperationPaths lists the method and path template of every operation, in
// the spec's matching order.
func (m *Mount) OperationPaths() []OperationPath {
	out := make([]OperationPath, 0, len(m.ops))
	for _, op := range m.ops {
		out = append(out, OperationPath{Method: op.method, Path: strings.TrimSuffix(m.cfg.Prefix, "/") + op.path})
	}
	return out
}

// Unhandled lists the keys that still answer from their spec example.
func (m *Mount) Unhandled() []string {
	var out []string
	for _, k := range m.Keys() {
		if m.handlers[k] == nil {
			out = append(out, k)
		}
	}
	return out
}

// Prefix returns the mount path.
func (m *Mount) Prefix() string { return m.cfg.Prefix }

// System returns the system's name.
func (m *Mount) System() string { return m.cfg.System }

// Doc returns the spec.
func (m *Mount) Doc() *openapi3.T { return m.cfg.Doc }

// ServeHTTP routes, authenticates, validates and dispatches one request.
func (m *Mount) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	note := noteFrom(r.Context())
	if note != nil {
		note.System = m.cfg.System
	}
	route, params, err := m.router.find(r)
	if err != nil {
		if errors.Is(err, routers.ErrMethodNotAllowed) {
			m.cfg.Dialect.WriteError(w, r, apierr.New(apierr.MethodNotAllowed, "%s is not allowed on %s", r.Method, r.URL.Path))
			return
		}
		m.cfg.Dialect.WriteError(w, r, apierr.New(apierr.NotFound, "no operation at %s %s", r.Method, r.URL.Path))
		return
	}
	body, err := readBody(w, r, m.cfg.MaxBody)
	if err != nil {
		m.cfg.Dialect.WriteError(w, r, err.(*apierr.Error))
		return
	}
	// The Request is allocated with the request's scope, which carries it.
	req, carried := newRequest(r.Context())
	req.System, req.OperationID, req.Key = m.cfg.System, route.Operation.OperationID, route.Operation.OperationID
	req.Operation, req.Route, req.PathParams, req.Body, req.Dialect = route.Operation, route, params, body, m.cfg.Dialect
	if !carried {
		// Outside the handler stack's scope (a mount served on its own, or
		// a second mount inside one request) the Request is added the usual
		// way, on a copy of the request.
		r = r.WithContext(WithRequest(r.Context(), req))
	}
	if r.Body != http.NoBody {
		// A request without a body keeps http.NoBody, which reads as the
		// empty reader would, without two allocations.
		r.Body = newBodyIn(r.Context(), body)
	}

	op := m.byID[req.OperationID]
	checking := m.cfg.CheckResponses != nil && !op.stream
	// What the mount answers itself (validation errors, a guard's refusal) is
	// buffered and checked here; what the handler answers is checked inside
	// Wrap (see checked), so that the fault engine gets the real connection.
	var rec *recorder
	out := w
	if checking {
		rec = newRecorder()
		out = rec
	}
	h, own := m.prepare(out, r, req, op)
	if note != nil {
		note.Operation, note.PathParams = req.Key, req.PathParams
	}
	if h != nil && rec != nil {
		// prepare put the warnings on the recorder, which only the mount's
		// own answers flush: the handler answers on w.
		for _, v := range rec.header.Values(WarningHeader) {
			w.Header().Add(WarningHeader, v)
		}
	}
	if h == nil {
		op.check.docs.put(req.dropDoc())
		if rec != nil {
			m.check(r, req, rec)
			rec.flushTo(w)
		}
		return
	}
	switch {
	case checking:
		h = m.checked(h, req)
		if m.cfg.Wrap != nil {
			h = m.cfg.Wrap(h)
		}
	case m.cfg.Wrap != nil:
		if own {
			// The registered handler, wrapped once at Handle.
			h = m.wrapped[req.Key]
		} else {
			h = m.cfg.Wrap(h)
		}
	}
	h.ServeHTTP(w, r)
	op.check.docs.put(req.dropDoc())
}

// prepare validates the request, picks its handler and runs the guard. It
// returns nil when it has answered the request itself, and whether the
// handler is the one registered for req.Key (not a spec-example answer). The departures it
// tolerated are on w's header (X-Pspsim-Warning) and in req.Warnings.
func (m *Mount) prepare(w http.ResponseWriter, r *http.Request, req *Request, op *operation) (http.Handler, bool) {
	md := modeLenient
	if m.cfg.Strict {
		md = modeStrict
	}
	o := op.check.run(r.Context(), checkInput{r: r, route: req.Route, params: req.PathParams, body: req.Body, auth: m.opts.AuthenticationFunc,
		scratch: &req.authInputs}, md)
	doc := o.doc
	if len(o.warnings) > 0 {
		req.Warnings = o.warnings
		for _, wn := range o.warnings {
			w.Header().Add(WarningHeader, wn.Header())
		}
		if m.cfg.OnWarnings != nil {
			m.cfg.OnWarnings(r, req, o.warnings)
		}
	}
	if o.err != nil {
		m.cfg.Dialect.WriteError(w, r, o.err)
		return nil, false
	}
	if op.dispatch != "" {
		// The key is the value of the dispatch field (validated by the discriminator).
		key, err := dispatchKey(doc, op.dispatch)
		if err != nil {
			op.check.docs.put(doc)
			m.cfg.Dialect.WriteError(w, r, err)
			return nil, false
		}
		req.Key = key
	}
	if note := noteFrom(r.Context()); note != nil && note.WantBodyIDs {
		note.BodyIDs = bodyIDs(doc)
	}
	h := m.handlers[req.Key]
	own := h != nil
	// doc is the parse of the body as sent; a normalised body replaces it below.
	req.bodyJSON = doc != nil && o.body == nil
	if h != nil && o.body == nil && doc != nil {
		// The handler decodes the body from this parse (Request.Decode);
		// ServeHTTP releases it when the handler has returned.
		req.keepDoc(doc)
	} else {
		op.check.docs.put(doc)
	}
	if h == nil {
		a := op.fallbacks[req.Key]
		h = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("X-Pspsim-Answer", "spec-example")
			if a.contentType != "" {
				w.Header().Set("Content-Type", a.contentType)
			}
			w.WriteHeader(a.status)
			w.Write(a.body)
		})
	}
	if o.body != nil {
		// The guard and the handler see the body normalised; a signature
		// covers the bytes the client signed, which stay in req.Sent.
		req.Sent, req.Body = req.Body, o.body
		r.Body = newBody(o.body)
		r.ContentLength = int64(len(o.body))
	}
	if m.cfg.Guard != nil && !m.cfg.Guard(w, r) {
		return nil, false
	}
	return h, own
}

// checked buffers h's answer, validates it against the spec, then passes it
// on to whatever writer the wrapper chain gives it.
func (m *Mount) checked(h http.Handler, req *Request) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := newRecorder()
		h.ServeHTTP(rec, r)
		m.check(r, req, rec)
		rec.flushTo(w)
	})
}

// dispatchKey reads the dispatch field from the parsed body.
func dispatchKey(doc *schema.Doc, field string) (string, *apierr.Error) {
	if doc == nil || doc.Node(doc.Root()).Kind != schema.Object {
		return "", apierr.New(apierr.Malformed, "request body is not a JSON object")
	}
	m := doc.Member(doc.Root(), field)
	if m < 0 || doc.Node(m).Kind != schema.String || doc.Text(m) == "" {
		return "", apierr.Required(field)
	}
	return doc.Text(m), nil
}

func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	if r.Body == http.NoBody {
		// What net/http gives a request without a body (every GET): io.ReadAll
		// would allocate its 512-byte buffer to read nothing and answer this.
		return []byte{}, nil
	}
	var buf []byte
	src := r.Body
	if n := r.ContentLength; n > 0 && n <= max {
		// The body's announced length, and one byte for the read that
		// finds its end: io.ReadAll would start at 512 bytes and grow (a
		// card payment's body, about a kilobyte, took three allocations
		// and their copies; a small one took 512 bytes). A wrong
		// Content-Length costs nothing but the buffer's size, bounded by
		// max: the reading is io.ReadAll's.
		buf = make([]byte, 0, n+1)
		read, rest, done := readAnnounced(r.Body, buf)
		if done {
			return read, nil
		}
		// Read again, from the start, into new memory (rest reads from
		// buf's).
		src, buf = rest, make([]byte, 0, 2*cap(buf))
	}
	body, err := readAll(http.MaxBytesReader(w, src, max), buf)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, apierr.New(apierr.TooLarge, "request body is larger than %d bytes", max)
		}
		return nil, apierr.New(apierr.Malformed, "could not read the request body")
	}
	return body, nil
}

// readAnnounced reads a body of at most len announced bytes into b (empty,
// of capacity announced+1) straight from body, without the
// http.MaxBytesReader that bounds it (an allocation on every request): a
// body that ends, or fails, within the length it announced, itself within
// readBody's limit, is one the limit never stops. done reports that it
// did: the body read (b) is the answer, and a failure, when there was one,
// is the caller's to give as the reading's error. Otherwise — the body
// goes on past its announcement, and may go past the limit — the caller
// reads it all again, as before, through an http.MaxBytesReader from rest,
// which gives what has been read and then what body still holds (or the
// failure that came with the extra byte).
func readAnnounced(body io.ReadCloser, b []byte) (_ []byte, rest io.ReadCloser, done bool) {
	for {
		n, err := body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if len(b) == cap(b) {
			// One byte more than announced: read everything again.
			var tail io.Reader = body
			switch {
			case err == io.EOF:
				tail = eofReader{}
			case err != nil:
				tail = errReader{err}
			}
			return b, io.NopCloser(io.MultiReader(bytes.NewReader(b), tail)), false
		}
		if err == io.EOF {
			return b, nil, true
		}
		if err != nil {
			// Within the announced length, under the limit: the failure is
			// the reading's, as http.MaxBytesReader passes it on.
			return b, errReadCloser{err}, false
		}
	}
}

// eofReader is a body that has ended; errReader one whose read failed with
// err (its reads keep failing so); errReadCloser the same, to close.
type (
	eofReader     struct{}
	errReader     struct{ err error }
	errReadCloser struct{ err error }
)

func (eofReader) Read([]byte) (int, error)       { return 0, io.EOF }
func (e errReader) Read([]byte) (int, error)     { return 0, e.err }
func (e errReadCloser) Read([]byte) (int, error) { return 0, e.err }
func (errReadCloser) Close() error               { return nil }

// memBody is a request body read from memory: what io.NopCloser over a
// bytes.Reader reads, and the same interfaces (io.WriterTo, io.Seeker...),
// in one allocation instead of two.
type memBody struct{ bytes.Reader }

// Close does nothing, as io.NopCloser's.
func (*memBody) Close() error { return nil }

func newBody(b []byte) io.ReadCloser {
	m := &memBody{}
	m.Reset(b)
	return m
}

// readAll is io.ReadAll reading into b (from len(b) on): the same bytes,
// the same error (TestReadBodyIsReadAll).
func readAll(r io.Reader, b []byte) ([]byte, error) {
	if b == nil {
		return io.ReadAll(r)
	}
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			// Add more capacity (let append pick how much).
			b = append(b, 0)[:len(b)]
		}
	}
}

// violationsError turns a request's violations into the error a client
// sees: every broken rule (up to maxListed in the message, all in Details),
// the first one naming field and rule.
func violationsError(vs []Violation) *apierr.Error {
	if len(vs) == 0 {
		return apierr.New(apierr.Invalid, "request does not match the API specification")
	}
	first := vs[0]
	kind := apierr.Invalid
	switch first.Rule {
	case "required":
		kind = apierr.Missing
	case "parse", "encoding":
		kind = apierr.Malformed
	}
	// The message names every broken rule (up to maxListed), so a developer
	// fixes a request in one round trip; Field and Rule name the first.
	const maxListed = 5
	var msgs []string
	e := &apierr.Error{Kind: kind, Field: first.Field, Rule: first.Rule}
	for i, v := range vs {
		e.Details = append(e.Details, apierr.Detail{Field: v.Field, Rule: v.Rule, Message: v.Message()})
		if i < maxListed {
			msgs = append(msgs, v.Message())
		}
	}
	if len(vs) > maxListed {
		msgs = append(msgs, fmt.Sprintf("and %d more", len(vs)-maxListed))
	}
	e.Message = strings.Join(msgs, "; ")
	return e
}

// authError finds the *apierr.Error an AuthFunc returned inside kin-openapi's
// wrapping. With alternative requirements, Unavailable (a check the store
// did not answer) and then Forbidden (the caller is known but lacks a
// scope) are more telling than Unauthorized.
func authError(err error) *apierr.Error {
	var found []*apierr.Error
	var walk func(error)
	walk = func(err error) {
		var multi openapi3.MultiError
		if errors.As(err, &multi) {
			for _, e := range multi {
				walk(e)
			}
			return
		}
		var sec *openapi3filter.SecurityRequirementsError
		if errors.As(err, &sec) {
			for _, e := range sec.Errors {
				var ae *apierr.Error
				switch {
				case errors.As(e, &ae):
					found = append(found, apierr.Wrap(ae))
				case apierr.Unavailability(e) != nil:
					// The credentials were not checked: the store did
					// not answer. Not 401, which tells a client to
					// give up on credentials that may be good.
					found = append(found, apierr.Unavailability(e))
				default:
					found = append(found, &apierr.Error{Kind: apierr.Unauthorized, Message: "authentication failed", Cause: e})
				}
			}
		}
	}
	walk(err)
	if len(found) == 0 {
		return nil
	}
	// An alternative whose check the store did not answer might have
	// admitted the request: that is the answer, whatever the others said.
	for _, want := range []apierr.Kind{apierr.Unavailable, apierr.Forbidden} {
		for _, e := range found {
			if e.Kind == want {
				return e
			}
		}
	}
	return found[0]
}
