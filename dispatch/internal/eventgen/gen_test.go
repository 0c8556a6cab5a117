package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSplitEventType(t *testing.T) {
	tests := []struct{ typ, path, action string }{
		{"charge.succeeded", "charge", "succeeded"},
		{"customer.subscription.trial_will_end", "customer.subscription", "trial_will_end"},
		{"customer.subscription.pending_update_applied", "customer.subscription", "pending_update_applied"},
		{"cash_balance.funds_available", "cash_balance", "funds_available"},
		{"terminal.reader.action_succeeded", "terminal.reader", "action_succeeded"},
		{"ping", "ping", ""},
	}
	for _, tt := range tests {
		path, action := splitEventType(tt.typ)
		if path != tt.path || action != tt.action {
			t.Errorf("splitEventType(%q) = %q, %q; want %q, %q", tt.typ, path, action, tt.path, tt.action)
		}
	}
}

func TestCamel(t *testing.T) {
	tests := map[string]string{
		"charge":                         "Charge",
		"payment_failed":                 "PaymentFailed",
		"customer.tax_id":                "CustomerTaxId",
		"test_helpers.test_clock":        "TestHelpersTestClock",
		"expected_arrival_date_updated":  "ExpectedArrivalDateUpdated",
		"":                               "",
		"issuing_authorization.request":  "IssuingAuthorizationRequest",
		"customer.subscription.will_end": "CustomerSubscriptionWillEnd",
	}
	for in, want := range tests {
		if got := camel(in); got != want {
			t.Errorf("camel(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestObjectCandidates(t *testing.T) {
	tests := []struct {
		constName, typ string
		want           []string
	}{
		{"EventTypeChargeSucceeded", "charge.succeeded", []string{"Charge"}},
		{"EventTypeCustomerSubscriptionUpdated", "customer.subscription.updated", []string{"CustomerSubscription", "Subscription"}},
		{"EventTypeCustomerTaxIDCreated", "customer.tax_id.created", []string{"CustomerTaxID", "TaxID"}},
		{"EventTypeInvoiceItemCreated", "invoiceitem.created", []string{"InvoiceItem"}},
		{"EventTypeSKUCreated", "sku.created", []string{"SKU"}},
		{"EventTypeChargeDisputeFundsWithdrawn", "charge.dispute.funds_withdrawn", []string{"ChargeDispute", "Dispute"}},
		{"EventTypeTestHelpersTestClockInternalFailure", "test_helpers.test_clock.internal_failure", []string{"TestHelpersTestClock", "TestClock"}},
		{"EventTypeCustomerSubscriptionPendingUpdateApplied", "customer.subscription.pending_update_applied", []string{"CustomerSubscription", "Subscription"}},
		{"EventTypePing", "ping", []string{"Ping"}},
	}
	for _, tt := range tests {
		got, err := objectCandidates(tt.constName, tt.typ)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("objectCandidates(%q, %q) = %q, %v; want %q", tt.constName, tt.typ, got, err, tt.want)
		}
	}

	bad := [][2]string{
		{"ChargeSucceeded", "charge.succeeded"},          // no EventType prefix
		{"EventTypeChargeSucceeded", "charge.failed"},    // action mismatch
		{"EventTypeRefundSucceeded", "charge.succeeded"}, // object mismatch
		{"EventTypeSucceeded", "charge.succeeded"},       // no object words
	}
	for _, b := range bad {
		if got, err := objectCandidates(b[0], b[1]); err == nil {
			t.Errorf("objectCandidates(%q, %q) = %q; want error", b[0], b[1], got)
		}
	}
}

// constName derives the stripe-go constant name of an event type the way
// stripe-go spells it, for tests only.
func constName(typ string) string {
	name := camel(typ)
	for _, r := range [][2]string{{"TaxId", "TaxID"}, {"Invoiceitem", "InvoiceItem"}, {"Sku", "SKU"}} {
		name = strings.ReplaceAll(name, r[0], r[1])
	}
	return "EventType" + name
}

// loadStripe parses the stripe-go module the main module requires.
func loadStripe(t *testing.T) (dir, version string, events []stripeEvent, structs map[string]bool) {
	t.Helper()
	dir, version, err := locateModule()
	if err != nil {
		t.Fatal(err)
	}
	events, structs, _, err = parseStripe(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, version, events, structs
}

func TestResolveStripe(t *testing.T) {
	_, _, events, structs := loadStripe(t)
	ms, err := resolve(events, structs, exceptions)
	if err != nil {
		t.Fatal(err)
	}
	byType := map[string]mapping{}
	for _, m := range ms {
		byType[m.Value] = m
	}
	tests := []struct {
		typ  string
		want []string
	}{
		{"charge.succeeded", []string{"Charge"}},
		{"customer.subscription.updated", []string{"Subscription"}},
		{"customer.subscription.trial_will_end", []string{"Subscription"}},
		{"customer.tax_id.created", []string{"TaxID"}},
		{"invoiceitem.created", []string{"InvoiceItem"}},
		{"checkout.session.completed", []string{"CheckoutSession"}},
		{"charge.dispute.created", []string{"Dispute"}},
		{"charge.refund.updated", []string{"Refund"}},
		{"issuing_authorization.request", []string{"IssuingAuthorization"}},
		{"payment_intent.payment_failed", []string{"PaymentIntent"}},
		{"invoice.payment_failed", []string{"Invoice"}},
		{"terminal.reader.action_succeeded", []string{"TerminalReader"}},
		{"application_fee.refund.updated", []string{"FeeRefund"}},
		{"application_fee.refunded", []string{"ApplicationFee"}},
		{"account.application.authorized", []string{"Application"}},
		{"account.external_account.created", []string{"AccountExternalAccount", "BankAccount", "Card"}},
		{"customer.source.expiring", []string{"PaymentSource", "Card", "BankAccount", "Source"}},
		{"customer.discount.deleted", []string{"Discount"}},
		{"test_helpers.test_clock.ready", []string{"TestHelpersTestClock"}},
		{"radar.early_fraud_warning.created", []string{"RadarEarlyFraudWarning"}},
		{"reporting.report_run.succeeded", []string{"ReportingReportRun"}},
		{"reporting.report_type.updated", []string{"ReportingReportType"}},
		{"sigma.scheduled_query_run.created", []string{"SigmaScheduledQueryRun"}},
		{"tax.settings.updated", []string{"TaxSettings"}},
		{"billing_portal.configuration.updated", []string{"BillingPortalConfiguration"}},
		{"source.transaction.created", []string{"SourceTransaction"}},
		{"source.chargeable", []string{"Source"}},
		{"person.updated", []string{"Person"}},
		{"capability.updated", []string{"Capability"}},
		{"cash_balance.funds_available", []string{"CashBalance"}},
		{"customer_cash_balance_transaction.created", []string{"CustomerCashBalanceTransaction"}},
		{"balance.available", []string{"Balance"}},
		{"payout.paid", []string{"Payout"}},
		{"payment_method.automatically_updated", []string{"PaymentMethod"}},
		{"treasury.debit_reversal.initial_credit_granted", []string{"TreasuryDebitReversal"}},
	}
	for _, tt := range tests {
		m, ok := byType[tt.typ]
		if !ok {
			t.Errorf("%s: missing", tt.typ)
			continue
		}
		if !slices.Equal(m.Types, tt.want) {
			t.Errorf("%s: types %q; want %q", tt.typ, m.Types, tt.want)
		}
		if want := constName(tt.typ); m.Const != want || m.Method != strings.TrimPrefix(want, "EventType") {
			t.Errorf("%s: const %s, method %s; want %s", tt.typ, m.Const, m.Method, want)
		}
	}
}

func TestResolveErrors(t *testing.T) {
	events := []stripeEvent{
		{"EventTypeChargeSucceeded", "charge.succeeded"},
		{"EventTypeCustomerSourceCreated", "customer.source.created"},
		{"EventTypeWidgetCreated", "widget.created"},
	}
	structs := map[string]bool{"Charge": true, "Source": true, "Card": true}
	tests := []struct {
		name string
		excs []exception
		want []string // substrings of the error
	}{
		{"no type", nil, []string{`EventTypeWidgetCreated ("widget.created"): no Go type`}},
		{"unknown type", []exception{{Match: "widget.*", Types: []string{"Widget"}}},
			[]string{`exception "widget.*" names type "Widget", which is not`}},
		{"unused", []exception{{Match: "widget.*", Types: []string{"Charge"}}, {Match: "ping", Types: []string{"Charge"}}},
			[]string{`exception "ping" matches no event type`}},
		{"wildcard needs exact object path", []exception{{Match: "widget.*", Types: []string{"Charge"}}, {Match: "customer.*", Types: []string{"Card"}}},
			[]string{`exception "customer.*" matches no event type`}},
		{"overlap", []exception{{Match: "widget.*", Types: []string{"Charge"}}, {Match: "widget.created", Types: []string{"Charge"}}},
			[]string{`matches exceptions "widget.*" and "widget.created"`}},
		{"empty", []exception{{Match: "widget.*"}}, []string{`exception "widget.*" names no type`}},
	}
	for _, tt := range tests {
		_, err := resolve(events, structs, tt.excs)
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not contain %q", tt.name, err, w)
			}
		}
	}

	ms, err := resolve(events, structs, []exception{
		{Match: "widget.*", Types: []string{"Charge"}},
		{Match: "customer.source.*", Types: []string{"Card", "Source"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.Value+"="+strings.Join(m.Types, "+"))
	}
	want := []string{"charge.succeeded=Charge", "customer.source.created=Card+Source", "widget.created=Charge"}
	if !slices.Equal(got, want) {
		t.Errorf("resolve = %q; want %q", got, want)
	}
}

func TestParseStripe(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"event.go": `package stripe
type EventType string
const (
	EventTypeChargeSucceeded EventType = "charge.succeeded"
	EventTypeZed, EventTypeAlpha EventType = "zed.created", "alpha.created"
	eventTypeHidden EventType = "hidden.created"
	OtherConst string = "x"
)
type Charge struct{ Object string }
type notExported struct{}
type Alias = Charge
type Generic[T any] struct{ V T }
type Named string
`,
		"event_test.go": "package stripe\ntype TestOnly struct{}\nconst EventTypeTest EventType = \"test.created\"\n",
		"other.go":      "//go:build ignore\n\npackage stripe\ntype Ignored struct{}\n",
		"x.txt":         "not go",
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	events, structs, _, err := parseStripe(dir)
	if err != nil {
		t.Fatal(err)
	}
	wantEvents := []stripeEvent{
		{"EventTypeChargeSucceeded", "charge.succeeded"},
		{"EventTypeZed", "zed.created"},
		{"EventTypeAlpha", "alpha.created"},
	}
	if !slices.Equal(events, wantEvents) {
		t.Errorf("events = %v; want %v", events, wantEvents)
	}
	if len(structs) != 1 || !structs["Charge"] {
		t.Errorf("structs = %v; want only Charge", structs)
	}
}

// TestGeneratedFileUpToDate fails when dispatch/eventtypes_gen.go differs from
// what eventgen produces for the stripe-go version in go.mod.
func TestGeneratedFileUpToDate(t *testing.T) {
	dir, version, _, _ := loadStripe(t)
	src, _, err := generate(dir, version)
	if err != nil {
		t.Fatalf("%v; fix eventgen's exceptions, then run go generate ./dispatch", err)
	}
	committed, err := os.ReadFile(filepath.Join("..", "..", "eventtypes_gen.go"))
	if err != nil {
		t.Fatalf("%v; run go generate ./dispatch", err)
	}
	if !bytes.Equal(src, committed) {
		t.Errorf("dispatch/eventtypes_gen.go is stale (stripe-go %s); run go generate ./dispatch", version)
	}
}
