// Package logging builds pspsim's slog loggers. Every record passes through a
// masking handler, so a card number, CVV or secret that slips into a message
// or an attribute is masked before it is written, whatever the caller did.
package logging

import (
	"context"
	"io"
	"log/slog"

	"github.com/pspsim/pspsim/simulator/pan"
)

// New returns a logger writing text (or JSON when json is true) to w, masking
// card data. level is the minimum level.
func New(w io.Writer, level slog.Level, json bool) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	if json {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(NewMasking(h))
}

// Discard returns a logger that writes nothing, for tests.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// Masking wraps a handler and masks card data in messages and attributes.
type Masking struct{ next slog.Handler }

// NewMasking wraps next.
func NewMasking(next slog.Handler) *Masking { return &Masking{next: next} }

// Enabled defers to the wrapped handler.
func (m *Masking) Enabled(ctx context.Context, l slog.Level) bool { return m.next.Enabled(ctx, l) }

// Handle masks the record and passes it on.
func (m *Masking) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, pan.Scrub(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(maskAttr(a))
		return true
	})
	return m.next.Handle(ctx, out)
}

// WithAttrs masks the attributes once, up front.
func (m *Masking) WithAttrs(attrs []slog.Attr) slog.Handler {
	masked := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		masked[i] = maskAttr(a)
	}
	return &Masking{next: m.next.WithAttrs(masked)}
}

// WithGroup defers to the wrapped handler.
func (m *Masking) WithGroup(name string) slog.Handler { return &Masking{next: m.next.WithGroup(name)} }

func maskAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, pan.Value(a.Key, v.String()))
	case slog.KindGroup:
		group := v.Group()
		masked := make([]any, len(group))
		for i, g := range group {
			masked[i] = maskAttr(g)
		}
		return slog.Group(a.Key, masked...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, pan.Scrub(x.Error()))
		case map[string]any, []any, map[string]string:
			return slog.Any(a.Key, pan.Redact(x))
		}
		return slog.String(a.Key, pan.Value(a.Key, v.String()))
	default:
		return slog.Attr{Key: a.Key, Value: v}
	}
}
