package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"stripetask/internal/devtools"
	"testing"
)

// TestGeneratedIsCurrent holds dispatchtest/objects_gen.go to stripe-mock's
// specification and fixtures: regenerate with `go generate ./dispatchtest/`.
func TestGeneratedIsCurrent(t *testing.T) {
	dir, err := devtools.StripeMockModule()
	if err != nil {
		t.Fatal(err)
	}
	want, err := generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join("..", "..", "objects_gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("dispatchtest/objects_gen.go is stale: run go generate ./dispatchtest/")
	}
	for _, line := range []string{
		`"charge": {get: "/v1/charges/ch_1PgafuB7WZ01zgkWXYmPNZs8"},`,
		`"customer": {get: "/v1/customers/cus_QXg1o8vcGmoR32"},`,
		`"card": {get: "/v1/customers/cus_QXg1o8vcGmoR32/cards/card_1PgaftB7WZ01zgkWm3waTcFp"},`,
		`"balance": {get: "/v1/balance"},`,
		`"application": {fixture: ` + "`" + `{"id":"obj_123","name":null,"object":"application"}` + "`" + `},`,
	} {
		if !bytes.Contains(bytes.Join(bytes.Fields(got), []byte(" ")), []byte(line)) {
			t.Errorf("objects_gen.go lacks %s", line)
		}
	}
}

func TestComparePaths(t *testing.T) {
	paths := []string{
		"/v1/charges/{charge}/dispute",
		"/v1/customers/{customer}/subscriptions/{subscription_exposed_id}",
		"/v1/subscriptions/{subscription_exposed_id}",
		"/v1/disputes/{dispute}",
		"/v1/account",
	}
	slices.SortFunc(paths, comparePaths)
	want := []string{
		"/v1/disputes/{dispute}",
		"/v1/subscriptions/{subscription_exposed_id}",
		"/v1/customers/{customer}/subscriptions/{subscription_exposed_id}",
		"/v1/account",
		"/v1/charges/{charge}/dispute",
	}
	if !slices.Equal(paths, want) {
		t.Errorf("order:\n%s\nwant\n%s", strings.Join(paths, "\n"), strings.Join(want, "\n"))
	}
}

func TestFill(t *testing.T) {
	ids := map[string]string{"customer": "cus_1", "application_fee": "fee_1", "account": "acct_1"}
	tests := []struct {
		path, kind string
		fixture    map[string]any
		want       string
	}{
		{"/v1/charges/{charge}", "charge", map[string]any{"id": "ch_1"}, "/v1/charges/ch_1"},
		{"/v1/customers/{customer}/cards/{id}", "card", map[string]any{"id": "card_1", "customer": nil}, "/v1/customers/cus_1/cards/card_1"},
		{"/v1/accounts/{account}/capabilities/{capability}", "capability", map[string]any{"id": "card_payments", "account": "acct_2"}, "/v1/accounts/acct_2/capabilities/card_payments"},
		{"/v1/application_fees/{fee}/refunds/{id}", "fee_refund", map[string]any{"id": "fr_1"}, "/v1/application_fees/fee_1/refunds/fr_1"},
		{"/v1/products/{product}/features/{id}", "product_feature", map[string]any{"id": "", "product": "prod_1"}, "/v1/products/prod_1/features/product_feature_1"},
		{"/v1/balance", "balance", map[string]any{}, "/v1/balance"},
	}
	for _, tt := range tests {
		if got, err := fill(tt.path, tt.kind, tt.fixture, ids); err != nil || got != tt.want {
			t.Errorf("fill(%q) = %q, %v; want %q", tt.path, got, err, tt.want)
		}
	}
	if _, err := fill("/v1/widgets/{widget}/parts/{id}", "part", map[string]any{"id": "p_1"}, ids); err == nil || !strings.Contains(err.Error(), "no id for {widget}") {
		t.Errorf("an unknown parent: %v", err)
	}
}
