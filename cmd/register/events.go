package main

import (
	"errors"
	"fmt"

	"stripetask/dispatch"
)

// AllEvents is the enabled_events entry that subscribes to every event.
const AllEvents = "*"

// ErrNoEvents reports a Handler with nothing to subscribe to.
var ErrNoEvents = errors.New("nothing to subscribe to")

// enabledEvents returns the endpoint's enabled_events for the dispatcher's
// Handler: the event types it has methods for, the same table that routes
// deliveries, or "*" when all is set, which needs a Default method to
// receive the events without one. note, if not empty, is a hint to print.
func enabledEvents(d *dispatch.Dispatcher, all bool) (events []string, note string, err error) {
	types := d.EventTypes()
	switch {
	case all && !d.HasDefault():
		return nil, "", fmt.Errorf("%w: -all-events needs a Default method on the Handler: without one, events that have no method of their own are only acknowledged (200, ignored), so subscribing to them all sends traffic nothing handles", ErrNoEvents)
	case all:
		return []string{AllEvents}, "", nil
	case len(types) == 0 && d.HasDefault():
		return nil, "", fmt.Errorf("%w: the Handler has only a Default method and no method named after an event type: pass -all-events to subscribe to every event (*), or add methods such as ChargeSucceeded to handler/handler.go", ErrNoEvents)
	case len(types) == 0:
		return nil, "", fmt.Errorf("%w: the Handler has no method named after an event type: add one, such as ChargeSucceeded, to handler/handler.go", ErrNoEvents)
	case d.HasDefault():
		return types, "note: the Handler has a Default method; pass -all-events to subscribe to every event (*) so it receives the others", nil
	}
	return types, "", nil
}
