package payapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/stripe/stripe-go/v76"
)

// Causes of failures, for the log and for errors.Is.
var (
	errUnauthorized      = errors.New("missing or wrong bearer token")
	errAuthNotConfigured = errors.New("PAY_API_KEY is not set")
	errNoStripeKey       = errors.New("STRIPE_KEY is not set")
	errUnknownKey        = errors.New("STRIPE_KEY is not a secret (sk_) or restricted (rk_) key")
	errNoPublishableKey  = errors.New("STRIPE_PUBLISHABLE_KEY is not set")
	errTooLarge          = errors.New("body too large")
	errMediaType         = errors.New("unsupported Content-Type")
	errMalformed         = errors.New("malformed JSON")
	errOriginRefused     = errors.New("origin not in ALLOWED_ORIGINS")
)

// apiError is a failure with what the client is told about it.
type apiError struct {
	status int
	msg    string // public
	field  string // the request field at fault, if any

	// From Stripe's error, where the client may see them.
	code, declineCode, param, stripeRequestID string

	err error // the cause, for the log only
}

// Error returns the text logged for the failure.
func (e *apiError) Error() string {
	if e.err == nil {
		return e.msg
	}
	return e.msg + ": " + e.err.Error()
}

// Unwrap returns the cause.
func (e *apiError) Unwrap() error { return e.err }

// fieldError is a request field that failed validation: a 400 naming it.
type fieldError struct {
	field string // as the client spells it: "amount", "metadata", "Idempotency-Key"
	msg   string // the rule, after the field name: "must be positive"
}

func (e *fieldError) Error() string { return e.field + " " + e.msg }

// invalid returns a *fieldError.
func invalid(field, format string, args ...any) error {
	return &fieldError{field: field, msg: fmt.Sprintf(format, args...)}
}

// stripeError is a failed Stripe call.
type stripeError struct {
	op  string // what was called: "create payment intent"
	err error  // from stripe-go: a *stripe.Error, or a transport failure
}

// stripeFailed marks err, returned by stripe-go for the operation op, as a
// failure of the Stripe call, for classify.
func stripeFailed(op string, err error) error {
	return &stripeError{op: op, err: err}
}

// Error describes the failure for the log. It names a *stripe.Error's
// fields one by one: that error's own text is its JSON, which may hold the
// payment intent, and so its client secret.
func (e *stripeError) Error() string {
	se, ok := errors.AsType[*stripe.Error](e.err)
	if !ok {
		return "stripe: " + e.op + ": " + e.err.Error()
	}
	return fmt.Sprintf("stripe: %s: %s (status %d, code %q, decline_code %q, param %q, request %s): %s",
		e.op, se.Type, se.HTTPStatusCode, se.Code, se.DeclineCode, se.Param, se.RequestID, se.Msg)
}

// Unwrap returns stripe-go's error.
func (e *stripeError) Unwrap() error { return e.err }

// classify maps an error returned by a route to what the client is told.
func classify(err error) *apiError {
	if e, ok := errors.AsType[*apiError](err); ok {
		return e
	}
	if e, ok := errors.AsType[*fieldError](err); ok {
		return &apiError{status: http.StatusBadRequest, msg: e.Error(), field: e.field}
	}
	if e, ok := errors.AsType[*stripeError](err); ok {
		return fromStripe(e)
	}
	return &apiError{status: http.StatusInternalServerError, msg: "internal error", err: err}
}

// Public messages of the Stripe failures whose Stripe message is not shown.
const (
	msgStripeUnavailable = "the payment provider could not be reached or failed; try again later"
	msgIdempotency       = "this Idempotency-Key was already used for a different request, or a request with it is still in progress"
	msgRateLimited       = "too many requests to the payment provider; try again later"
	msgStripeTimeout     = "the payment provider did not answer in time; try again later"
)

// fromStripe maps a failed Stripe call:
//
//	card_error                         402, Stripe's message, code, decline_code
//	resource_missing                   404, Stripe's message, param
//	idempotency_error                  409
//	HTTP 429                           429
//	other invalid_request_error        400, Stripe's message, param, code
//	HTTP 401, 403, 5xx, api_error,
//	no answer or an unreadable one     502, generic message
//	no answer in the time left         504, generic message
//
// The Stripe request id is passed on in every case; Stripe's full error
// only goes to the log.
func fromStripe(err *stripeError) *apiError {
	se, ok := errors.AsType[*stripe.Error](err)
	if !ok {
		if timedOut(err) {
			return &apiError{status: http.StatusGatewayTimeout, msg: msgStripeTimeout, err: err}
		}
		return &apiError{status: http.StatusBadGateway, msg: msgStripeUnavailable, err: err}
	}
	e := &apiError{stripeRequestID: se.RequestID, err: err}
	status := se.HTTPStatusCode
	switch {
	case status == http.StatusUnauthorized, status == http.StatusForbidden, status >= 500, se.Type == stripe.ErrorTypeAPI:
		e.status, e.msg = http.StatusBadGateway, msgStripeUnavailable
	case se.Type == stripe.ErrorTypeCard:
		e.status, e.msg, e.code, e.declineCode = http.StatusPaymentRequired, se.Msg, string(se.Code), string(se.DeclineCode)
	case se.Code == stripe.ErrorCodeResourceMissing:
		e.status, e.msg, e.param = http.StatusNotFound, se.Msg, se.Param
	case se.Type == stripe.ErrorTypeIdempotency:
		e.status, e.msg, e.field = http.StatusConflict, msgIdempotency, "Idempotency-Key"
	case status == http.StatusTooManyRequests, se.Code == stripe.ErrorCodeRateLimit:
		e.status, e.msg = http.StatusTooManyRequests, msgRateLimited
	case se.Type == stripe.ErrorTypeInvalidRequest:
		e.status, e.msg, e.param, e.code = http.StatusBadRequest, se.Msg, se.Param, string(se.Code)
	default:
		e.status, e.msg = http.StatusBadGateway, msgStripeUnavailable
	}
	if e.msg == "" {
		e.msg = http.StatusText(e.status)
	}
	return e
}

// errorBody is the JSON body of every error response.
type errorBody struct {
	Error           string `json:"error"`
	Field           string `json:"field,omitempty"`
	Code            string `json:"code,omitempty"`
	DeclineCode     string `json:"decline_code,omitempty"`
	Param           string `json:"param,omitempty"`
	StripeRequestID string `json:"stripe_request_id,omitempty"`
	RequestID       string `json:"request_id,omitempty"`
}

// writeError answers with e.
func writeError(w http.ResponseWriter, e *apiError, rid string) {
	writeJSON(w, e.status, errorBody{
		Error: e.msg, Field: e.field, Code: e.code, DeclineCode: e.declineCode,
		Param: e.param, StripeRequestID: e.stripeRequestID, RequestID: rid,
	})
}

// writeJSON answers with status and body as JSON.
func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

// timedOut reports whether a failed Stripe call ran out of time: the
// request's budget (function.Budget) or the HTTP client's own timeout.
func timedOut(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	ne, ok := errors.AsType[net.Error](err)
	return ok && ne.Timeout()
}
