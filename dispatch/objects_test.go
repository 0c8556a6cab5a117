package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"stripetask/internal/devtools"
	"testing"

	"github.com/stripe/stripe-go/v76"
)

// TestObjectKinds holds objectKinds to the OpenAPI specification stripe-mock
// serves (the one in its module, which `make tools` downloads): every
// object name in the table is one the API has, and every type of the
// generated table has an entry.
func TestObjectKinds(t *testing.T) {
	dir, err := devtools.StripeMockModule()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, devtools.StripeMockSpec))
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Components struct {
			Schemas map[string]struct {
				Properties struct {
					Object struct {
						Enum []string `json:"enum"`
					} `json:"object"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, s := range spec.Components.Schemas {
		for _, n := range s.Properties.Object.Enum {
			names[n] = true
		}
	}
	for typ, kinds := range objectKinds {
		for _, k := range kinds {
			if !names[k] {
				t.Errorf("%s: %q is no object of the Stripe API", typ, k)
			}
		}
	}
	for _, k := range knownEvents {
		for _, o := range k.Objects {
			if objectKinds[o] == nil {
				t.Errorf("%s (for %s) has no entry in objectKinds", o, k.Type)
			}
		}
	}
}

// sourceHandler takes customer.source.created as a card only, and
// charge.succeeded as a charge.
type sourceHandler struct {
	Env
	got *[]string
}

func (h *sourceHandler) CustomerSourceCreated(ctx context.Context, c *stripe.Card) error {
	*h.got = append(*h.got, "card "+c.ID)
	return nil
}

func (h *sourceHandler) ChargeSucceeded(ctx context.Context, c *stripe.Charge) error {
	*h.got = append(*h.got, "charge "+c.ID)
	return nil
}

func (h *sourceHandler) AccountExternalAccountCreated(ctx context.Context, a *stripe.AccountExternalAccount) error {
	*h.got = append(*h.got, "external "+a.ID)
	return nil
}

// TestObjectKindChecked checks that a data.object of another kind than the
// method's type never reaches the method as an empty value of that type.
func TestObjectKindChecked(t *testing.T) {
	tests := []struct {
		name, typ, object string
		want              string // the call, or "" for ErrDecodeObject
	}{
		{"card as card", "customer.source.created", `{"id":"card_1","object":"card","last4":"4242"}`, "card card_1"},
		{"bank account as card", "customer.source.created", `{"id":"ba_1","object":"bank_account","last4":"6789"}`, ""},
		{"source as card", "customer.source.created", `{"id":"src_1","object":"source"}`, ""},
		{"charge as charge", "charge.succeeded", `{"id":"ch_1","object":"charge"}`, "charge ch_1"},
		{"invoice as charge", "charge.succeeded", `{"id":"in_1","object":"invoice","amount_due":100}`, ""},
		{"no object field", "charge.succeeded", `{"id":"ch_2"}`, "charge ch_2"},
		{"external card", "account.external_account.created", `{"id":"card_2","object":"card"}`, "external card_2"},
		{"external bank account", "account.external_account.created", `{"id":"ba_2","object":"bank_account"}`, "external ba_2"},
		{"external customer", "account.external_account.created", `{"id":"cus_1","object":"customer"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			d, err := New(sourceHandler{got: &got})
			if err != nil {
				t.Fatal(err)
			}
			body := event(tt.typ, tt.object)
			dl, err := d.Decode(body)
			if err != nil {
				t.Fatal(err)
			}
			err = d.Run(context.Background(), dl, Env{})
			switch {
			case tt.want == "" && !errors.Is(err, ErrDecodeObject):
				t.Fatalf("Run = %v, calls %q; want ErrDecodeObject", err, got)
			case tt.want == "" && len(got) > 0:
				t.Fatalf("the method ran: %q", got)
			case tt.want != "" && (err != nil || !slices.Equal(got, []string{tt.want})):
				t.Fatalf("Run = %v, calls %q; want %q", err, got, tt.want)
			}
			// The same through an event decoded by stripe-go (Route).
			var e stripe.Event
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatal(err)
			}
			got = nil
			dl, err = d.Route(&e)
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Run(context.Background(), dl, Env{}); (tt.want == "") != errors.Is(err, ErrDecodeObject) {
				t.Fatalf("via Route: Run = %v", err)
			}
		})
	}
}

// TestObjectKindsOfEventTypes checks ObjectKinds: the usual kind first,
// every kind of every type the event carries, nothing for the types
// stripe-go has no type for or does not know, and a slice of the caller's.
func TestObjectKindsOfEventTypes(t *testing.T) {
	tests := []struct {
		typ  string
		want []string
	}{
		{"charge.succeeded", []string{"charge"}},
		{"charge.dispute.created", []string{"dispute"}},
		{"charge.refund.updated", []string{"refund"}},
		{"checkout.session.completed", []string{"checkout.session"}},
		{"customer.subscription.updated", []string{"subscription"}},
		{"customer.tax_id.created", []string{"tax_id"}},
		{"customer.source.created", []string{"card", "bank_account", "source", "account"}},
		{"account.external_account.created", []string{"bank_account", "card"}},
		{"invoiceitem.created", []string{"invoiceitem"}},
		{"sigma.scheduled_query_run.created", []string{"scheduled_query_run"}},
		{"sku.created", nil},
		{"source.mandate_notification", nil},
		{"billing.alert.triggered", nil},
		{"", nil},
	}
	for _, tt := range tests {
		if got := ObjectKinds(tt.typ); !slices.Equal(got, tt.want) {
			t.Errorf("ObjectKinds(%q) = %q, want %q", tt.typ, got, tt.want)
		}
	}
	typed := 0
	for _, k := range knownEvents {
		kinds := ObjectKinds(string(k.Type))
		if len(k.Objects) > 0 {
			typed++
			if len(kinds) == 0 || !slices.Equal(kinds[:1], objectKinds[k.Objects[0]][:1]) && len(objectKinds[k.Objects[0]]) == 1 {
				t.Errorf("%s: ObjectKinds %q does not start with its canonical type's kind", k.Type, kinds)
			}
		}
		for _, o := range k.Objects {
			for _, kind := range objectKinds[o] {
				if !slices.Contains(kinds, kind) {
					t.Errorf("%s: ObjectKinds %q lacks %q, which %s holds", k.Type, kinds, kind, o)
				}
			}
		}
	}
	if typed != 226 {
		t.Errorf("%d event types have kinds, want 226 (234 less the 8 stripe-go has no type for)", typed)
	}
	a := ObjectKinds("customer.source.created")
	a[0] = "changed"
	if ObjectKinds("customer.source.created")[0] != "card" {
		t.Error("ObjectKinds returns a slice it keeps")
	}
}

// TestKnownEventTypes checks the list of stripe-go's event types: all of
// them, sorted, each with the method name of the generated table.
func TestKnownEventTypes(t *testing.T) {
	types := KnownEventTypes()
	if len(types) != 234 || !slices.IsSorted(types) {
		t.Fatalf("%d types, sorted %v; want the 234 of stripe-go v76, sorted", len(types), slices.IsSorted(types))
	}
	for i, typ := range types {
		if typ != string(knownEvents[i].Type) || MethodName(typ) != knownEvents[i].Method {
			t.Errorf("types[%d] = %q (method %s), want %q (%s)", i, typ, MethodName(typ), knownEvents[i].Type, knownEvents[i].Method)
		}
	}
	for _, want := range []string{"charge.succeeded", "checkout.session.completed", "sku.created", "source.mandate_notification"} {
		if !slices.Contains(types, want) {
			t.Errorf("%s missing", want)
		}
	}
	types[0] = "changed"
	if KnownEventTypes()[0] == "changed" {
		t.Error("KnownEventTypes returns a slice it keeps")
	}
}
