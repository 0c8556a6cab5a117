package dispatch

// Cheap logger attributes for h.Log. slog's Logger.With formats its
// attributes when it is called, which costs several allocations for every
// event even when nothing is logged; the loggers made here format them only
// when a line is actually written.

import (
	"context"
	"log/slog"

	"github.com/stripe/stripe-go/v76"
)

// maxAttrs is how many attributes withAttrs keeps inline.
const maxAttrs = 4

// withAttrs returns a logger that writes through l and adds attrs to every line,
// as l.With would, except that they follow the line's own attributes. At
// most four attributes are kept; more fall back to l.With.
func withAttrs(l *slog.Logger, attrs ...slog.Attr) *slog.Logger {
	if len(attrs) > maxAttrs {
		args := make([]any, len(attrs))
		for i, a := range attrs {
			args[i] = a
		}
		return l.With(args...)
	}
	h := &attrHandler{next: l.Handler(), n: len(attrs)}
	copy(h.attrs[:], attrs)
	return slog.New(h)
}

type attrHandler struct {
	next  slog.Handler
	attrs [maxAttrs]slog.Attr
	n     int
}

func (h *attrHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h *attrHandler) Handle(ctx context.Context, r slog.Record) error {
	r.AddAttrs(h.attrs[:h.n]...)
	return h.next.Handle(ctx, r)
}

// WithAttrs and WithGroup fix the attributes into the wrapped handler, so
// that a group opened later does not capture them.
func (h *attrHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	all := make([]slog.Attr, 0, h.n+len(attrs))
	all = append(append(all, h.attrs[:h.n]...), attrs...)
	return h.next.WithAttrs(all)
}

func (h *attrHandler) WithGroup(name string) slog.Handler {
	return h.next.WithAttrs(h.attrs[:h.n]).WithGroup(name)
}

// withEventAttrs returns l with the event's id and type and then extra added
// to every line, in one wrapper.
func withEventAttrs(l *slog.Logger, e *stripe.Event, extra []slog.Attr) *slog.Logger {
	if 2+len(extra) > maxAttrs {
		return withAttrs(l, append([]slog.Attr{slog.String("event_id", e.ID), slog.String("event_type", string(e.Type))}, extra...)...)
	}
	h := &attrHandler{next: l.Handler(), n: 2 + len(extra)}
	h.attrs[0] = slog.String("event_id", e.ID)
	h.attrs[1] = slog.String("event_type", string(e.Type))
	copy(h.attrs[2:], extra)
	return slog.New(h)
}
