package webhookhttp

import (
	"testing"

	"stripetask/internal/pipeline"
)

// TestStatusFollowsDisposition holds the webhook's HTTP mapping to the
// pipeline's outcome table: 2xx for done (Stripe stops retrying), 5xx or
// 409 for retry (Stripe retries for 3 days), 4xx for refused.
func TestStatusFollowsDisposition(t *testing.T) {
	for _, o := range append(pipeline.Outcomes(), "something_new") {
		s := Status(o)
		var ok bool
		switch o.Disposition() {
		case pipeline.Done:
			ok = s >= 200 && s < 300
		case pipeline.Retry:
			ok = s >= 500 || s == 409
		case pipeline.Refused:
			ok = s >= 400 && s < 500 && s != 409
		}
		if !ok {
			t.Errorf("%s (%v) answers %d", o, o.Disposition(), s)
		}
	}
}
