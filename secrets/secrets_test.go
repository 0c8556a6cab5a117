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

// TestRedact checks that secret values in error text become their names.
func TestRedact(t *testing.T) {
	m := Map{
		"STRIPE_KEY":  "sk_test_51Abcdefgh",
		"PAY_API_KEY": "pay_old_1234567, pay_new_7654321",
		"SHORT":       "true",
	}
	tests := []struct{ in, want string }{
		{"calling with sk_test_51Abcdefgh failed", "calling with [STRIPE_KEY] failed"},
		{"token pay_new_7654321 and pay_old_1234567", "token [PAY_API_KEY] and [PAY_API_KEY]"},
		{"whole pay_old_1234567, pay_new_7654321", "whole [PAY_API_KEY]"},
		{"it is true", "it is true"},
		{"nothing here", "nothing here"},
	}
	for _, tt := range tests {
		if got := m.Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestRedactLongestFirst checks that a secret containing another is
// replaced whole. Map order is random, so one pass could replace the
// shorter first by luck of the draw: every run repeats it.
func TestRedactLongestFirst(t *testing.T) {
	m := Map{
		"A_TOKEN":  "tok_0123456789",
		"B_TOKEN":  "tok_0123456789abcdef",
		"C_TOKENS": "xx_list_item, tok_0123456789abcdef99",
	}
	tests := []struct{ in, want string }{
		{"got tok_0123456789abcdef from b", "got [B_TOKEN] from b"},
		{"got tok_0123456789abcdef99 from c", "got [C_TOKENS] from c"},
		{"got tok_0123456789 from a", "got [A_TOKEN] from a"},
		{"all: tok_0123456789 tok_0123456789abcdef tok_0123456789abcdef99", "all: [A_TOKEN] [B_TOKEN] [C_TOKENS]"},
	}
	for range 50 {
		for _, tt := range tests {
			if got := m.Redact(tt.in); got != tt.want {
				t.Fatalf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
			}
		}
	}
}

// TestMatchAny checks the constant-time comparison's answers.
func TestMatchAny(t *testing.T) {
	tests := []struct {
		got   string
		wants []string
		want  bool
	}{
		{"user:pass", []string{"user:pass"}, true},
		{"user:pass", []string{"other", "user:pass"}, true},
		{"user:pas", []string{"user:pass"}, false},
		{"user:passs", []string{"user:pass"}, false},
		{"", []string{""}, true},
		{"x", nil, false},
		{"", nil, false},
	}
	for _, tt := range tests {
		if got := MatchAny(tt.got, tt.wants...); got != tt.want {
			t.Errorf("MatchAny(%q, %q) = %v, want %v", tt.got, tt.wants, got, tt.want)
		}
	}
}
