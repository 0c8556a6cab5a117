package transport

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// requestIDKey is the context key under which the request ID is stored.
type requestIDKey struct{}

// RequestID returns the request ID carried by ctx, or "" if there is none.
//
// Requests served through this package always carry one: in AWS Lambda it is
// the API Gateway or function URL request ID (requestContext.requestId) or,
// failing that, the Lambda invocation's AwsRequestID, which is always the
// case for ALB events since they carry none; in the local server it is a
// random 16-character hexadecimal string. The error responses the transport
// makes itself carry it too, as request_id.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// withRequestID returns a copy of ctx carrying the request ID id.
func withRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// newRequestID returns a random 16-character hexadecimal request ID.
func newRequestID() string {
	var b [8]byte
	rand.Read(b[:]) // never returns an error
	return hex.EncodeToString(b[:])
}

// newUUID returns a random version 4 UUID in its canonical textual form, the
// format of Lambda's AwsRequestID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:]) // never returns an error
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
