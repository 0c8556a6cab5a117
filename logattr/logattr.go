// Package logattr attaches attributes to a logger cheaply. slog's
// Logger.With formats its attributes when it is called, which costs several
// allocations for every request even when nothing is logged; the loggers
// made here format them only when a line is actually written.
package logattr

import (
	"context"
	"log/slog"
)

// maxAttrs is how many attributes With keeps inline.
const maxAttrs = 4

// With returns a logger that writes through l and adds attrs to every line,
// as l.With would, except that they follow the line's own attributes. At
// most four attributes are kept; more fall back to l.With.
func With(l *slog.Logger, attrs ...slog.Attr) *slog.Logger {
	if len(attrs) > maxAttrs {
		args := make([]any, len(attrs))
		for i, a := range attrs {
			args[i] = a
		}
		return l.With(args...)
	}
	h := &handler{next: l.Handler(), n: len(attrs)}
	copy(h.attrs[:], attrs)
	return slog.New(h)
}

type handler struct {
	next  slog.Handler
	attrs [maxAttrs]slog.Attr
	n     int
}

func (h *handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	r.AddAttrs(h.attrs[:h.n]...)
	return h.next.Handle(ctx, r)
}

// WithAttrs and WithGroup fix the attributes into the wrapped handler, so
// that a group opened later does not capture them.
func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	all := make([]slog.Attr, 0, h.n+len(attrs))
	all = append(append(all, h.attrs[:h.n]...), attrs...)
	return h.next.WithAttrs(all)
}

func (h *handler) WithGroup(name string) slog.Handler {
	return h.next.WithAttrs(h.attrs[:h.n]).WithGroup(name)
}
