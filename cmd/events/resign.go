package main

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
)

// requestTimeLayout is how API Gateway and Lambda function URLs render
// requestContext.time (payload 2.0) and requestContext.requestTime (1.0).
const requestTimeLayout = "02/Jan/2006:15:04:05 -0700"

// signatureHeader is the header Stripe signs deliveries with. Payload 2.0
// events carry lower-cased header names; REST API (1.0) events keep the case
// the client sent.
const signatureHeader = "Stripe-Signature"

var (
	errNoSecret = errors.New("signing secret is empty")
	errNoTime   = errors.New("signing time is not set")
	errNoBody   = errors.New("fixture has no body")
	errShape    = errors.New("not an API Gateway or Lambda function URL event")
)

// payloadFormat identifies the Lambda event envelope of a fixture.
type payloadFormat int

const (
	// formatV2 is API Gateway HTTP API payload 2.0, which Lambda function
	// URLs use too.
	formatV2 payloadFormat = iota
	// formatV1 is API Gateway REST API proxy integration (and HTTP API
	// payload 1.0).
	formatV1
)

// Resign returns fixture with a fresh Stripe-Signature for its body, signed
// with secret at time t (truncated to whole seconds), as Stripe would sign a
// delivery at that moment: "t=<unix>,v1=<hex HMAC-SHA256 of "<unix>.<body>">".
//
// fixture is a Lambda event as JSON: API Gateway HTTP API payload 2.0
// (also used by Lambda function URLs) or REST API payload 1.0. The signed
// payload is the decoded body string, base64-decoded first when
// isBase64Encoded is true. The signature replaces the value of every header
// whose name matches Stripe-Signature in any case; if there is none,
// "stripe-signature" (2.0) or "Stripe-Signature" (1.0) is added. For 1.0
// events multiValueHeaders is updated the same way when present. The
// request time in requestContext (time and timeEpoch for 2.0, requestTime
// and requestTimeEpoch for 1.0) is set to t when requestContext is present.
//
// The result keeps member order and every other value verbatim (the body
// literal is not re-encoded), is indented with two spaces and ends with a
// newline, so signing the same fixture at the same time is idempotent.
func Resign(fixture []byte, secret string, t time.Time) ([]byte, error) {
	if strings.TrimSpace(secret) == "" {
		return nil, errNoSecret
	}
	if t.IsZero() {
		return nil, errNoTime
	}
	t = time.Unix(t.Unix(), 0).UTC()

	root, err := parseTree(fixture)
	if err != nil {
		return nil, fmt.Errorf("parse fixture: %w", err)
	}
	if root.kind != kindObject {
		return nil, fmt.Errorf("%w: top level is %s, want an object", errShape, root.describe())
	}
	format, err := detectFormat(root)
	if err != nil {
		return nil, err
	}
	payload, err := signedPayload(root)
	if err != nil {
		return nil, err
	}

	sig := fmt.Sprintf("t=%d,v1=%s", t.Unix(), hex.EncodeToString(webhook.ComputeSignature(t, payload, secret)))

	headerName, err := setHeader(root, format, sig)
	if err != nil {
		return nil, err
	}
	if format == formatV1 {
		if err := setMultiValueHeader(root, headerName, sig); err != nil {
			return nil, err
		}
	}
	if err := setRequestTime(root, format, t); err != nil {
		return nil, err
	}
	return root.encode(), nil
}

// detectFormat tells payload 2.0 from 1.0 by the version field, falling
// back to the httpMethod member that only 1.0 events have.
func detectFormat(root *node) (payloadFormat, error) {
	if v := root.get("version"); !v.isNull() {
		s, err := v.stringValue()
		if err != nil {
			return 0, fmt.Errorf("%w: version: %w", errShape, err)
		}
		switch s {
		case "2.0":
			return formatV2, nil
		case "1.0":
			return formatV1, nil
		default:
			return 0, fmt.Errorf("%w: unsupported payload version %q (want \"2.0\" or \"1.0\")", errShape, s)
		}
	}
	if root.get("httpMethod") != nil {
		return formatV1, nil
	}
	return 0, fmt.Errorf("%w: no \"version\" or \"httpMethod\" member", errShape)
}

// signedPayload returns the bytes Stripe signs: the request body as
// delivered, base64-decoded when the event says it is encoded.
func signedPayload(root *node) ([]byte, error) {
	b := root.get("body")
	if b.isNull() {
		return nil, errNoBody
	}
	body, err := b.stringValue()
	if err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	if body == "" {
		return nil, fmt.Errorf("%w (body is an empty string)", errNoBody)
	}
	encoded := false
	if v := root.get("isBase64Encoded"); !v.isNull() {
		switch string(v.raw) {
		case "true":
			encoded = true
		case "false":
		default:
			return nil, fmt.Errorf("isBase64Encoded is %s, want true or false", v.describe())
		}
	}
	if !encoded {
		return []byte(body), nil
	}
	payload, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("decode base64 body: %w", err)
	}
	if len(payload) == 0 {
		return nil, fmt.Errorf("%w (body decodes to nothing)", errNoBody)
	}
	return payload, nil
}

// setHeader stores sig under every header named like Stripe-Signature,
// creating the header (and the headers object) as needed. It returns the
// header name used, for mirroring into multiValueHeaders.
func setHeader(root *node, format payloadFormat, sig string) (string, error) {
	headers := root.get("headers")
	if headers.isNull() {
		headers = &node{kind: kindObject}
		root.set("headers", headers)
	}
	if headers.kind != kindObject {
		return "", fmt.Errorf("headers is %s, want an object", headers.describe())
	}
	name := ""
	for _, m := range headers.members {
		if strings.EqualFold(m.key, signatureHeader) {
			m.value = stringNode(sig)
			if name == "" {
				name = m.key
			}
		}
	}
	if name == "" {
		name = signatureHeader
		if format == formatV2 {
			name = strings.ToLower(signatureHeader)
		}
		headers.set(name, stringNode(sig))
	}
	return name, nil
}

// setMultiValueHeader mirrors the signature into multiValueHeaders of a
// payload 1.0 event, when the event has that member.
func setMultiValueHeader(root *node, name, sig string) error {
	mv := root.get("multiValueHeaders")
	if mv.isNull() {
		return nil
	}
	if mv.kind != kindObject {
		return fmt.Errorf("multiValueHeaders is %s, want an object", mv.describe())
	}
	found := false
	for _, m := range mv.members {
		if strings.EqualFold(m.key, signatureHeader) {
			m.value = arrayNode(stringNode(sig))
			found = true
		}
	}
	if !found {
		mv.set(name, arrayNode(stringNode(sig)))
	}
	return nil
}

// setRequestTime records t as the time API Gateway received the request.
func setRequestTime(root *node, format payloadFormat, t time.Time) error {
	rc := root.get("requestContext")
	if rc.isNull() {
		return nil
	}
	if rc.kind != kindObject {
		return fmt.Errorf("requestContext is %s, want an object", rc.describe())
	}
	timeKey, epochKey := "time", "timeEpoch"
	if format == formatV1 {
		timeKey, epochKey = "requestTime", "requestTimeEpoch"
	}
	rc.set(timeKey, stringNode(t.Format(requestTimeLayout)))
	rc.set(epochKey, intNode(t.UnixMilli()))
	return nil
}
