package openapi

import "context"

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
}

type noteKey struct{}

// WithNote returns ctx carrying an empty Note to fill.
func WithNote(ctx context.Context) (context.Context, *Note) {
	n := &Note{}
	return context.WithValue(ctx, noteKey{}, n), n
}

func noteFrom(ctx context.Context) *Note {
	n, _ := ctx.Value(noteKey{}).(*Note)
	return n
}
