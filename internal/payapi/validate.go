package payapi

import (
	"net/mail"
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxAmount is the largest amount Stripe accepts, in the smallest currency
// unit: eight digits.
const MaxAmount = 99999999

// Stripe's other limits on what the API passes on.
const (
	maxMetadataKeys  = 50
	maxMetadataKey   = 40  // characters
	maxMetadataValue = 500 // characters
	maxIDLength      = 255
	maxDescription   = 1000
	maxName          = 256
	maxEmail         = 512
)

// checkAmount checks an amount: an integer from 1 to MaxAmount.
func checkAmount(field string, v *int64, required bool) error {
	switch {
	case v == nil && required:
		return invalid(field, "is required")
	case v == nil:
		return nil
	case *v < 1 || *v > MaxAmount:
		return invalid(field, "must be a positive integer no greater than %d (in the smallest currency unit)", MaxAmount)
	}
	return nil
}

// checkCurrency checks a three-letter ISO currency code in either case and
// returns it in lower case, as Stripe wants it.
func checkCurrency(field string, v *string) (string, error) {
	if v == nil {
		return "", invalid(field, "is required")
	}
	c := *v
	if len(c) != 3 || strings.IndexFunc(c, func(r rune) bool { return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') }) >= 0 {
		return "", invalid(field, "must be a three-letter ISO currency code such as usd")
	}
	return strings.ToLower(c), nil
}

// checkID checks a Stripe object id: prefix then letters, digits and
// underscores. Ids end up in Stripe's URL paths, so nothing else passes.
func checkID(field, prefix string, v *string, required bool) error {
	switch {
	case v == nil && required:
		return invalid(field, "is required")
	case v == nil:
		return nil
	}
	if !validID(*v, prefix) {
		return invalid(field, "must be a Stripe id starting with %s", prefix)
	}
	return nil
}

// validID reports whether id is prefix followed by 1 to 255 characters in
// all of letters, digits and underscores.
func validID(id, prefix string) bool {
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok || rest == "" || len(id) > maxIDLength {
		return false
	}
	for i := 0; i < len(rest); i++ {
		b := rest[i]
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '_') {
			return false
		}
	}
	return true
}

// checkEnum checks an optional value against its allowed values.
func checkEnum(field string, v *string, allowed ...string) error {
	if v == nil || slices.Contains(allowed, *v) {
		return nil
	}
	return invalid(field, "must be one of %s", strings.Join(allowed, ", "))
}

// checkEmail checks the shape of an email address: a bare address, as
// net/mail parses it, with no display name.
func checkEmail(field string, v *string, required bool) error {
	switch {
	case v == nil && required:
		return invalid(field, "is required")
	case v == nil:
		return nil
	}
	a, err := mail.ParseAddress(*v)
	if err != nil || a.Name != "" || a.Address != *v || len(*v) > maxEmail {
		return invalid(field, "must be an email address such as jenny@example.com")
	}
	return nil
}

// checkText checks an optional free-text field: not empty, at most max
// characters.
func checkText(field string, v *string, max int) error {
	switch {
	case v == nil:
		return nil
	case *v == "":
		return invalid(field, "must not be empty")
	case utf8.RuneCountInString(*v) > max:
		return invalid(field, "must be at most %d characters", max)
	}
	return nil
}

// checkRange checks an optional integer against [min, max].
func checkRange(field string, v *int64, min, max int64) error {
	if v != nil && (*v < min || *v > max) {
		return invalid(field, "must be an integer from %d to %d", min, max)
	}
	return nil
}

// checkMetadata checks metadata against Stripe's limits: at most 50 keys,
// keys of 1 to 40 characters without square brackets, values of at most
// 500 characters.
func checkMetadata(field string, m map[string]string) error {
	if len(m) > maxMetadataKeys {
		return invalid(field, "must have at most %d keys", maxMetadataKeys)
	}
	for k, v := range m {
		switch {
		case k == "":
			return invalid(field, "keys must not be empty")
		case utf8.RuneCountInString(k) > maxMetadataKey:
			return invalid(field, "keys must be at most %d characters", maxMetadataKey)
		case strings.ContainsAny(k, "[]"):
			return invalid(field, "keys must not contain square brackets")
		case utf8.RuneCountInString(v) > maxMetadataValue:
			return invalid(field, "values must be at most %d characters", maxMetadataValue)
		}
	}
	return nil
}
