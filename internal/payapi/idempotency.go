package payapi

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
)

// maxIdempotencyKey is Stripe's limit on idempotency keys, and this API's
// on the Idempotency-Key header.
const maxIdempotencyKey = 255

// idempotencyKey returns the Stripe idempotency key for the request's
// Idempotency-Key header on route: "pay:" + route + ":" + header, so that a
// key used on one route cannot replay another route's answer, hashed to
// "pay:sha256:<hex>" when longer than Stripe's 255 characters. Without the
// header it returns "". A header sent twice, empty, longer than 255
// characters, with anything but printable ASCII, or with a leading or
// trailing space is a 400.
func idempotencyKey(h http.Header, route string) (string, error) {
	vs, ok := h["Idempotency-Key"]
	if !ok {
		return "", nil
	}
	const field = "Idempotency-Key"
	if len(vs) != 1 {
		return "", invalid(field, "must be sent once")
	}
	v := vs[0]
	switch {
	case v == "":
		return "", invalid(field, "must not be empty")
	case len(v) > maxIdempotencyKey:
		return "", invalid(field, "must be at most %d characters", maxIdempotencyKey)
	case v[0] == ' ' || v[len(v)-1] == ' ':
		return "", invalid(field, "must not begin or end with a space")
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return "", invalid(field, "must be printable ASCII")
		}
	}
	key := "pay:" + route + ":" + v
	if len(key) > maxIdempotencyKey {
		sum := sha256.Sum256([]byte(key))
		key = "pay:sha256:" + hex.EncodeToString(sum[:])
	}
	return key, nil
}
