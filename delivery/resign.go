package delivery

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
)

// Refresh returns a function that renews stale signatures of local fixtures,
// for the `invoke` mode: a request whose Stripe-Signature is genuine for one
// of the configured signing secrets, however old, is signed again at the
// current time. Any other request, including a tampered one or one without a
// signature, is left exactly as it is, so fixtures of failure cases still
// fail. It never touches a deployed function: only `invoke` uses it.
func (h *Handler) Refresh() func(*http.Request) error {
	return func(r *http.Request) error {
		header := r.Header.Get("Stripe-Signature")
		if header == "" {
			return nil
		}
		m, err := h.cfg.Secrets.Load(r.Context())
		if err != nil {
			return err
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return fmt.Errorf("reading the fixture body: %w", err)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		for _, s := range m.List(WebhookSecret) {
			if err := webhook.ValidatePayloadIgnoringTolerance(body, header, s); err != nil {
				if errors.Is(err, webhook.ErrNoValidSignature) {
					continue
				}
				return nil // malformed header: leave it for the handler to refuse
			}
			r.Header.Set("Stripe-Signature", Sign(body, s, h.cfg.Now()))
			return nil
		}
		return nil
	}
}

// Sign returns a Stripe-Signature header value for body, signed with secret
// at time t, as Stripe computes it. Tests and local tools use it.
func Sign(body []byte, secret string, t time.Time) string {
	return "t=" + strconv.FormatInt(t.Unix(), 10) + ",v1=" + fmt.Sprintf("%x", webhook.ComputeSignature(t, body, secret))
}
