package payapi

import (
	"context"
	"log/slog"
	"time"

	"stripetask/internal/function"
	"stripetask/secrets"
)

// logEntry is what the request line says.
type logEntry struct {
	rid, route, method string
	status             int
	stripeRequestID    string
	err                error
	secrets            secrets.Map // values to redact from err
	took               time.Duration
}

// logRequest writes the one line per request, "msg":"request": info for
// successes, warning for 4xx, error for 5xx (function.Line). It holds no
// header, body, key or client secret; secret values in the error text are
// replaced by their names.
func (h *Handler) logRequest(ctx context.Context, e logEntry) {
	var buf [3]slog.Attr
	attrs := append(buf[:0], slog.String("route", e.route), slog.String("method", e.method))
	if e.stripeRequestID != "" {
		attrs = append(attrs, slog.String("stripe_request_id", e.stripeRequestID))
	}
	line := function.Line{
		Msg:       "request",
		Level:     function.Level(e.status),
		RequestID: e.rid,
		Attrs:     attrs,
		Status:    e.status,
		Took:      e.took,
		Err:       e.err,
		Secrets:   e.secrets,
	}
	line.Write(ctx, h.log)
}
