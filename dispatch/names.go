package dispatch

import (
	"strings"

	"github.com/stripe/stripe-go/v76"
)

// initialisms are the words stripe-go spells in capitals in its EventType
// constant names (customer.tax_id.created -> CustomerTaxIDCreated).
var initialisms = map[string]string{
	"id":   "ID",
	"ids":  "IDs",
	"url":  "URL",
	"api":  "API",
	"ip":   "IP",
	"http": "HTTP",
}

// MethodName returns the handler method name for an event type: for the
// types stripe-go v76 declares, the name of its EventType constant without the
// "EventType" prefix (invoiceitem.created -> InvoiceItemCreated); for other
// types, the CamelCase of the parts between dots and underscores
// (billing.alert.triggered -> BillingAlertTriggered).
func MethodName(eventType string) string {
	if k, ok := knownByType[stripe.EventType(eventType)]; ok {
		return k.Method
	}
	return camelCase(eventType)
}

func camelCase(eventType string) string {
	var b strings.Builder
	for word := range strings.FieldsFuncSeq(eventType, func(r rune) bool { return r == '.' || r == '_' }) {
		if up, ok := initialisms[word]; ok {
			b.WriteString(up)
			continue
		}
		b.WriteString(strings.ToUpper(word[:1]))
		b.WriteString(word[1:])
	}
	return b.String()
}

// distance is the Levenshtein edit distance between a and b, case-insensitive.
func distance(a, b string) int {
	a, b = strings.ToLower(a), strings.ToLower(b)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// nearest returns the candidate closest to name, and whether it is close
// enough to be a likely misspelling.
func nearest(name string, candidates []string) (string, bool) {
	best, bestD := "", -1
	for _, c := range candidates {
		if d := distance(name, c); bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	return best, bestD >= 0 && bestD <= max(2, len(name)/4)
}
