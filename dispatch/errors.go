package dispatch

import (
	"errors"
	"fmt"
)

// Start-up errors. New reports every problem it finds at once, each as a
// *MethodError wrapping one of these, joined with errors.Join.
var (
	// ErrUnknownEvent: an exported method has a handler's shape but its name
	// matches no event type.
	ErrUnknownEvent = errors.New("no event type has this method's name")
	// ErrShape: a method named after an event type (or Init, Default) does
	// not have an accepted signature.
	ErrShape = errors.New("method has the wrong signature")
	// ErrObjectType: the method's second argument is not a pointer to a
	// stripe-go type, or not one the event carries.
	ErrObjectType = errors.New("method takes the wrong object type")
	// ErrDuplicate: two methods, or two declared event types, claim one name.
	ErrDuplicate = errors.New("two handlers for one event type")
	// ErrEventType: an entry of ExtraEventTypes is malformed or already known.
	ErrEventType = errors.New("bad extra event type")
	// ErrHandlerType: the prototype is not a struct embedding dispatch.Env.
	ErrHandlerType = errors.New("handler type does not embed dispatch.Env")
)

// MethodError is a start-up error about one method of the Handler type.
type MethodError struct {
	Type   string // the Handler type, e.g. "handler.Handler"
	Method string // the method, e.g. "ChargeSuceeded"
	Err    error  // one of the start-up errors above
	Detail string // what is wrong and how to fix it
}

func (e *MethodError) Error() string {
	return fmt.Sprintf("%s.%s: %v: %s", e.Type, e.Method, e.Err, e.Detail)
}

// Unwrap returns the sentinel error.
func (e *MethodError) Unwrap() error { return e.Err }

// Errors of one delivery, from Decode and Run.
var (
	// ErrMalformed: the body is not valid JSON.
	ErrMalformed = errors.New("body is not valid JSON")
	// ErrNotEvent: the body is JSON but not a Stripe event.
	ErrNotEvent = errors.New("body is not a Stripe event")
	// ErrAPIVersion: in strict mode, the event's api_version is not the one
	// stripe-go was built for.
	ErrAPIVersion = errors.New("event API version does not match stripe-go's")
	// ErrDecodeObject: data.object does not decode into the method's type.
	ErrDecodeObject = errors.New("data.object does not decode into the handler's type")
	// ErrInit: the Handler's Init method failed.
	ErrInit = errors.New("handler Init failed")
)

// PanicError is returned by Run when the handler method panicked. The panic
// is recovered so one bad event cannot take down the function.
type PanicError struct {
	Method string
	Value  any    // the value passed to panic
	Stack  []byte // the goroutine's stack at the panic
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("handler %s panicked: %v", e.Method, e.Value)
}

// HandlerError is returned by Run when the handler method returned an error.
type HandlerError struct {
	Method string
	Err    error
}

func (e *HandlerError) Error() string { return fmt.Sprintf("handler %s: %v", e.Method, e.Err) }

// Unwrap returns the method's error.
func (e *HandlerError) Unwrap() error { return e.Err }
