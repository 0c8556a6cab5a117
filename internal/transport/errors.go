package transport

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
)

// defaultLog receives the lines of transport errors when no logger is given.
var defaultLog = slog.New(slog.NewJSONHandler(os.Stderr, nil))

// failure is an error response the transport makes itself, rather than the
// handler.
type failure struct {
	status int
	msg    string // public, in the response
	err    error  // private, in the log only
	stack  []byte // for panics
}

// Public messages of the responses the transport makes itself.
const (
	msgBadBase64 = "request body is not valid base64"
	msgInternal  = "internal error"
	msgNotFound  = "not found"
)

// badBase64 is the failure of a request whose body is flagged as base64 but
// does not decode.
func badBase64(err error) *failure {
	return &failure{status: http.StatusBadRequest, msg: msgBadBase64, err: err}
}

// panicked is the failure of a handler that panicked with v; stack is where.
func panicked(v any, stack []byte) *failure {
	err, ok := v.(error)
	if ok {
		err = fmt.Errorf("handler panicked: %w", err)
	} else {
		err = fmt.Errorf("handler panicked: %v", v)
	}
	return &failure{status: http.StatusInternalServerError, msg: msgInternal, err: err, stack: stack}
}

// errorBody is the JSON body of the responses the transport makes itself,
// in the shape of the functions' own error responses.
type errorBody struct {
	Error     string `json:"error"`
	RequestID string `json:"request_id,omitempty"`
}

// writeError answers w with f, for the request with the request ID id, and
// logs f to log (nil: defaultLog) as one "transport_error" line with the
// attributes request_id, status, error and, if f has one, stack. The
// response carries f.msg and id only.
func writeError(ctx context.Context, w http.ResponseWriter, log *slog.Logger, id string, f *failure) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(f.status)
	json.NewEncoder(w).Encode(errorBody{Error: f.msg, RequestID: id})

	if log == nil {
		log = defaultLog
	}
	level := slog.LevelWarn
	if f.status >= 500 {
		level = slog.LevelError
	}
	// The transport holds no secrets, and its errors quote none: a body
	// that is not base64, a path, Prepare's error (the secrets source's,
	// or a signature's), or a panic of the function's own code (not a
	// Handler's: the pipeline recovers those, and redacts them).
	attrs := []slog.Attr{
		slog.String("request_id", id),
		slog.Int("status", f.status),
		slog.String("error", f.err.Error()),
	}
	if f.stack != nil {
		attrs = append(attrs, slog.String("stack", string(f.stack)))
	}
	log.LogAttrs(ctx, level, "transport_error", attrs...)
}
