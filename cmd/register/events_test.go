package main

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v76"

	"stripetask/dispatch"
	"stripetask/handler"
)

// Handlers of every kind, checked by the dispatcher exactly as the runtime
// checks handler.Handler.

type withDefault struct{ dispatch.Env }

func (h *withDefault) ChargeSucceeded(context.Context, *stripe.Charge) error { return nil }
func (h *withDefault) InvoicePaid(context.Context) error                     { return nil }
func (h *withDefault) Default(context.Context) error                         { return nil }

type onlyDefault struct{ dispatch.Env }

func (h *onlyDefault) Default(context.Context) error { return nil }

type noMethods struct{ dispatch.Env }

type misspelled struct{ dispatch.Env }

func (h *misspelled) ChargeSuceeded(context.Context) error { return nil }

func dispatcherOf[H any, P interface {
	*H
	dispatch.EnvCarrier
}](h H) func() (*dispatch.Dispatcher, error) {
	return func() (*dispatch.Dispatcher, error) { return dispatch.New[H, P](h) }
}

// TestEnabledEvents: the events come from the dispatcher's own table; "*"
// needs both Default and -all-events; nothing to subscribe to is an error.
func TestEnabledEvents(t *testing.T) {
	tests := []struct {
		name     string
		handler  func() (*dispatch.Dispatcher, error)
		all      bool
		want     []string // nil: the dispatcher's EventTypes
		wantNote string
		wantErr  string
	}{
		{name: "handler.Handler", handler: defaultHandler},
		{name: "handler.Handler -all-events without Default", handler: defaultHandler, all: true, wantErr: "needs a Default method"},
		{name: "methods and Default", handler: dispatcherOf(withDefault{}), want: []string{"charge.succeeded", "invoice.paid"}, wantNote: "-all-events"},
		{name: "methods and Default, -all-events", handler: dispatcherOf(withDefault{}), all: true, want: []string{"*"}},
		{name: "only Default", handler: dispatcherOf(onlyDefault{}), wantErr: "pass -all-events"},
		{name: "only Default, -all-events", handler: dispatcherOf(onlyDefault{}), all: true, want: []string{"*"}},
		{name: "no methods", handler: dispatcherOf(noMethods{}), wantErr: "no method named after an event type"},
		{name: "no methods, -all-events", handler: dispatcherOf(noMethods{}), all: true, wantErr: "needs a Default method"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := tt.handler()
			if err != nil {
				t.Fatal(err)
			}
			got, note, err := enabledEvents(d, tt.all)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrNoEvents) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want ErrNoEvents with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want == nil {
				want = d.EventTypes()
			}
			if !slices.Equal(got, want) {
				t.Errorf("events %q, want %q", got, want)
			}
			if tt.wantNote == "" && note != "" || !strings.Contains(note, tt.wantNote) {
				t.Errorf("note %q, want one with %q", note, tt.wantNote)
			}
		})
	}
}

// TestDefaultHandlerEvents: by default the command registers exactly
// handler.Handler's table, the one the deployed function routes with.
func TestDefaultHandlerEvents(t *testing.T) {
	d, err := dispatch.New(handler.Handler{})
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := enabledEvents(d, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, d.EventTypes()) || len(got) == 0 || !slices.IsSorted(got) {
		t.Fatalf("events %q, want the dispatcher's %q", got, d.EventTypes())
	}
}
