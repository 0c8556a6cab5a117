package secrets

import (
	"context"
	"slices"
	"testing"
)

func TestFromEnviron(t *testing.T) {
	src := FromEnviron([]string{
		"STRIPE_KEY=sk_test_123",
		"BASIC_AUTH=user:pa=ss", // only the first '=' separates name and value
		"EMPTY=",
		"=ignored",
		"NOEQUALS",
	})
	m, err := src.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := Map{"STRIPE_KEY": "sk_test_123", "BASIC_AUTH": "user:pa=ss", "EMPTY": ""}
	if len(m) != len(want) {
		t.Fatalf("got %d secrets %v, want %v", len(m), keys(m), keys(want))
	}
	for k, v := range want {
		if got, ok := m[k]; !ok || got != v {
			t.Errorf("%s: got %q (present %v), want %q", k, got, ok, v)
		}
	}
}

func TestMapList(t *testing.T) {
	m := Map{
		"ONE":   "whsec_a",
		"TWO":   "whsec_a, whsec_b",
		"SPACE": " , whsec_a ,, ",
		"EMPTY": "",
	}
	tests := []struct {
		name string
		want []string
	}{
		{"ONE", []string{"whsec_a"}},
		{"TWO", []string{"whsec_a", "whsec_b"}},
		{"SPACE", []string{"whsec_a"}},
		{"EMPTY", nil},
		{"MISSING", nil},
	}
	for _, tt := range tests {
		if got := m.List(tt.name); !slices.Equal(got, tt.want) {
			t.Errorf("List(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func keys(m Map) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
