package transport

import (
	"maps"
	"net/http"
	"net/textproto"
	"slices"
)

// requestHeader returns the request header of an event with the headers
// multi and single, with room for one more header: the headers of multi,
// and those of single that multi lacks under any spelling. Payload format
// 2.0 events have single only (multi is nil); payload format 1.0 and ALB
// events may have both.
//
// In the common case, where every header has one spelling in each map, it
// costs the header map and one slice holding the values of single, and the
// values of multi are shared, not copied. A header spelt twice in one map,
// or spelt differently in the two, makes it start again with mergeHeader.
func requestHeader(multi map[string][]string, single map[string]string) http.Header {
	header := make(http.Header, max(len(multi), len(single))+1)
	for k, vs := range multi {
		ck := canonicalKey(k)
		if _, ok := header[ck]; ok {
			return mergeHeader(multi, single)
		}
		header[ck] = vs
	}
	// API Gateway repeats the last value of each header in Headers, under
	// the same spelling; use it only for headers that MultiValueHeaders
	// lacks.
	vals := make([]string, len(single))
	i := 0
	for k, v := range single {
		if _, ok := multi[k]; ok {
			continue
		}
		ck := canonicalKey(k)
		if _, ok := header[ck]; ok {
			return mergeHeader(multi, single)
		}
		vals[i] = v
		header[ck] = vals[i : i+1 : i+1]
		i++
	}
	return header
}

// mergeHeader returns the request header of an event with the headers multi
// and single, which may spell a header in several ways: each header has the
// values of all its spellings in multi, the spellings in bytewise order, or,
// if multi has none of its spellings, the values of all its spellings in
// single, in the same order. The result is the same whatever the order of
// iteration over the maps; it shares no slice with multi.
func mergeHeader(multi map[string][]string, single map[string]string) http.Header {
	header := make(http.Header, max(len(multi), len(single))+1)
	for _, k := range slices.Sorted(maps.Keys(multi)) {
		ck := canonicalKey(k)
		header[ck] = append(header[ck], multi[k]...)
	}
	var fromSingle http.Header
	for _, k := range slices.Sorted(maps.Keys(single)) {
		ck := canonicalKey(k)
		if _, ok := header[ck]; ok {
			continue
		}
		if fromSingle == nil {
			fromSingle = make(http.Header, len(single))
		}
		fromSingle[ck] = append(fromSingle[ck], single[k])
	}
	maps.Copy(header, fromSingle)
	return header
}

// lowerCanonical maps the lower-case header names API Gateway sends with
// every webhook to their canonical form. net/textproto interns the most
// common names itself; these it would allocate for on every request.
var lowerCanonical = map[string]string{
	"stripe-signature":  "Stripe-Signature",
	"x-amzn-trace-id":   "X-Amzn-Trace-Id",
	"x-forwarded-port":  "X-Forwarded-Port",
	"x-forwarded-proto": "X-Forwarded-Proto",
	"idempotency-key":   "Idempotency-Key",
	"authorization":     "Authorization",
	"origin":            "Origin",
}

// canonicalKey returns the canonical form of header name k.
func canonicalKey(k string) string {
	if ck, ok := lowerCanonical[k]; ok {
		return ck
	}
	return textproto.CanonicalMIMEHeaderKey(k)
}
