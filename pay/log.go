package pay

import (
	"context"
	"log/slog"
	"time"

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
// successes, warning for 4xx, error for 5xx. It holds no header, body, key
// or client secret; secret values in the error text are replaced by their
// names.
func (h *Handler) logRequest(ctx context.Context, e logEntry) {
	level := slog.LevelInfo
	switch {
	case e.status >= 500:
		level = slog.LevelError
	case e.status >= 400:
		level = slog.LevelWarn
	}
	if !h.log.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 7)
	attrs = append(attrs,
		slog.String("request_id", e.rid),
		slog.String("route", e.route),
		slog.String("method", e.method),
		slog.Int("status", e.status))
	if e.stripeRequestID != "" {
		attrs = append(attrs, slog.String("stripe_request_id", e.stripeRequestID))
	}
	attrs = append(attrs, slog.Float64("duration_ms", float64(e.took.Microseconds())/1000))
	if e.err != nil {
		attrs = append(attrs, slog.String("error", e.secrets.Redact(e.err.Error())))
	}
	h.log.LogAttrs(ctx, level, "request", attrs...)
}
