package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"stripetask/dispatch"
	"stripetask/dispatchtest"
	"stripetask/handler"
	"stripetask/internal/devtools"
	"stripetask/internal/fixture"
)

// The shapes of Lambda event `new` writes.
const (
	shapeHTTP        = "http"         // API Gateway HTTP API, payload 2.0
	shapeREST        = "rest"         // API Gateway REST API, payload 1.0
	shapeFunctionURL = "function-url" // Lambda function URL, base64 body
	shapeEventBridge = "eventbridge"  // a Stripe event destination's EventBridge event
)

var shapes = []string{shapeHTTP, shapeREST, shapeFunctionURL, shapeEventBridge}

// eventSource is the partner event source of the EventBridge fixtures, as
// in events/eventbridge/.
const eventSource = "aws.partner/stripe.com/ed_test_61RtJ9bXk2Zt3Q9v8yUeSGY3DQ2mN4"

// startStripeMock runs the stripe-mock whose objects `new` puts in its
// events, and returns its base URL and a function that stops it.
var startStripeMock = func(ctx context.Context) (string, func(), error) {
	bin, err := devtools.StripeMock(os.Getenv)
	if err != nil {
		return "", nil, err
	}
	return devtools.RunStripeMock(ctx, bin)
}

// setting is one -set path=value.
type setting struct {
	path  string
	value any
}

// parseSetting parses path=value; the value is JSON when it parses as
// JSON, else a string.
func parseSetting(s string) (setting, error) {
	path, raw, ok := strings.Cut(s, "=")
	if !ok || path == "" {
		return setting{}, fmt.Errorf("-set %q: want path=value, such as data.object.amount=5000", s)
	}
	var v any = raw
	if json.Valid([]byte(raw)) {
		v = json.RawMessage(raw)
	}
	return setting{path, v}, nil
}

// runNew is `events new TYPE [flags]`: it writes a Lambda event fixture
// carrying a new event of type TYPE.
func runNew(args []string, stdout, stderr io.Writer, now func() time.Time) error {
	fl := flag.NewFlagSet("events new", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var sets []setting
	fl.Func("set", "set the event's member at `path=value` (repeatable): data.object.amount=5000, account=acct_1; the value is JSON if it parses as JSON, else a string", func(s string) error {
		st, err := parseSetting(s)
		if err != nil {
			return err
		}
		sets = append(sets, st)
		return nil
	})
	shape := fl.String("shape", shapeHTTP, "the Lambda event: "+strings.Join(shapes, ", "))
	secret := fl.String("secret", "", "Stripe webhook signing secret, whsec_... (default: the local test secret; not for eventbridge)")
	out := fl.String("o", "", "write the fixture to `FILE` (default: standard output)")
	fl.Usage = func() {
		fmt.Fprintf(fl.Output(), "usage: go run ./cmd/events new TYPE [-set path=value ...] [-shape %s] [-secret whsec_...] [-o FILE]\n\n"+
			"Writes a Lambda event fixture carrying a new Stripe event of type TYPE, its data.object\n"+
			"taken from stripe-mock (package dispatchtest builds it), signed for `invoke` and `sam local invoke`.\n\n",
			strings.Join(shapes, "|"))
		fl.PrintDefaults()
	}
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		fl.Usage()
		return flag.ErrHelp
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fl.Usage()
		return fmt.Errorf("%w: new needs the event type first, then the flags: new TYPE [-set path=value ...]", errUsage)
	}
	typ := args[0]
	if err := fl.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if fl.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q after the flags (one event type per fixture)", errUsage, fl.Arg(0))
	}
	if !slices.Contains(shapes, *shape) {
		return fmt.Errorf("%w: -shape %q: want one of %s", errUsage, *shape, strings.Join(shapes, ", "))
	}
	secretSet := false
	fl.Visit(func(f *flag.Flag) { secretSet = secretSet || f.Name == "secret" })
	switch {
	case secretSet && *shape == shapeEventBridge:
		return fmt.Errorf("%w: -secret: EventBridge events are not signed", errUsage)
	case !secretSet:
		*secret = fixture.LocalSecret
	case strings.TrimSpace(*secret) == "":
		return fmt.Errorf("%w: -secret is empty", errUsage)
	}
	extra := extraTypes()
	if !slices.Contains(dispatch.KnownEventTypes(), typ) && !slices.Contains(extra, typ) {
		return fmt.Errorf("%w: %q is not an event type stripe-go v76 knows, nor one of handler.Handler's ExtraEventTypes", errUsage, typ)
	}

	ctx := context.Background()
	api, stop, err := startStripeMock(ctx)
	if err != nil {
		return fmt.Errorf("new: %w", err)
	}
	defer stop()
	e, err := dispatchtest.Build(ctx, api, typ, extra...)
	if err != nil {
		return fmt.Errorf("new: %w", err)
	}
	for _, s := range sets {
		e.Set(s.path, s.value)
	}
	if err := e.Err(); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	at := now()
	data, err := lambdaEvent(*shape, e, at)
	if err != nil {
		return err
	}
	if *shape != shapeEventBridge {
		if data, err = fixture.Resign(data, *secret, at); err != nil {
			return fmt.Errorf("new: signing: %w", err)
		}
	}
	kind, src := dispatchtest.ObjectKind(typ)
	signed := fmt.Sprintf("signed at t=%d", at.Unix())
	if *shape == shapeEventBridge {
		signed = "unsigned"
	}
	about := fmt.Sprintf("%s %s (data.object: a %s, %s), %s event, %s", typ, e.ID(), kind, sourceWords[src], *shape, signed)
	if *out == "" {
		_, err := stdout.Write(data)
		fmt.Fprintf(stderr, "events: wrote %s\n", about)
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	if err := writeFileAtomic(*out, data, 0o644); err != nil {
		return fmt.Errorf("%s: %w", *out, err)
	}
	fmt.Fprintf(stdout, "wrote %s: %s\n", *out, about)
	return nil
}

// extraTypes returns handler.Handler's ExtraEventTypes, if it has any.
func extraTypes() []string {
	if x, ok := any(&handler.Handler{}).(interface{ ExtraEventTypes() []string }); ok {
		return x.ExtraEventTypes()
	}
	return nil
}

// sourceWords say where data.object came from.
var sourceWords = map[dispatchtest.Source]string{
	dispatchtest.FromGET:     "from stripe-mock",
	dispatchtest.FromFixture: "stripe-mock's fixture",
	dispatchtest.FromMinimal: "minimal",
}

// lambdaEvent returns the Lambda event of shape carrying e, received at
// at; HTTP events are not signed yet.
func lambdaEvent(shape string, e *dispatchtest.Event, at time.Time) ([]byte, error) {
	body := string(e.JSON())
	const (
		userAgent = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
		sourceIP  = "54.187.174.169"
		account   = "123456789012"
	)
	headers := map[string]string{
		"accept":            "*/*; q=0.5, application/xml",
		"cache-control":     "no-cache",
		"content-length":    strconv.Itoa(len(body)),
		"content-type":      "application/json; charset=utf-8",
		"stripe-signature":  "",
		"user-agent":        userAgent,
		"x-amzn-trace-id":   "Root=1-" + strconv.FormatInt(at.Unix(), 16) + "-" + randomHex(24),
		"x-forwarded-for":   sourceIP,
		"x-forwarded-port":  "443",
		"x-forwarded-proto": "https",
	}
	var v any
	switch shape {
	case shapeHTTP:
		const api = "k3v9x2m7qa"
		headers["host"] = api + ".execute-api.us-east-1.amazonaws.com"
		v = events.APIGatewayV2HTTPRequest{
			Version: "2.0", RouteKey: "POST /webhook", RawPath: "/webhook", Headers: headers,
			RequestContext: events.APIGatewayV2HTTPRequestContext{
				RouteKey: "POST /webhook", AccountID: account, Stage: "$default", RequestID: randomHex(15) + "=",
				APIID: api, DomainName: headers["host"], DomainPrefix: api,
				HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/webhook", Protocol: "HTTP/1.1", SourceIP: sourceIP, UserAgent: userAgent},
			},
			Body: body,
		}
	case shapeFunctionURL:
		const url = "q7wd3xkz2m5nb6pa4ct8yr9hfs0jlevg"
		headers["host"] = url + ".lambda-url.us-east-1.on.aws"
		v = events.LambdaFunctionURLRequest{
			Version: "2.0", RawPath: "/webhook", Headers: headers,
			RequestContext: events.LambdaFunctionURLRequestContext{
				AccountID: "anonymous", RequestID: uuid(), APIID: url, DomainName: headers["host"], DomainPrefix: url,
				HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "POST", Path: "/webhook", Protocol: "HTTP/1.1", SourceIP: sourceIP, UserAgent: userAgent},
			},
			Body: base64.StdEncoding.EncodeToString([]byte(body)), IsBase64Encoded: true,
		}
	case shapeREST:
		const api = "r8t2w6y4u1"
		h := map[string]string{"Host": api + ".execute-api.us-east-1.amazonaws.com"}
		for k, val := range headers {
			if k != "content-length" {
				h[canonical(k)] = val
			}
		}
		multi := map[string][]string{}
		for k, val := range h {
			multi[k] = []string{val}
		}
		v = events.APIGatewayProxyRequest{
			Resource: "/webhook", Path: "/webhook", HTTPMethod: "POST", Headers: h, MultiValueHeaders: multi,
			RequestContext: events.APIGatewayProxyRequestContext{
				AccountID: account, ResourceID: "x4kq7s", Stage: "prod", RequestID: uuid(), ResourcePath: "/webhook",
				HTTPMethod: "POST", APIID: api, Protocol: "HTTP/1.1", Path: "/prod/webhook", DomainName: h["Host"], DomainPrefix: api,
				Identity: events.APIGatewayRequestIdentity{SourceIP: sourceIP, UserAgent: userAgent},
			},
			Body: body,
		}
	case shapeEventBridge:
		created := int64(0)
		if c, ok := e.Get("created").(float64); ok {
			created = int64(c)
		}
		v = events.EventBridgeEvent{
			Version: "0", ID: uuid(), DetailType: e.Type(), Source: eventSource, AccountID: account,
			Time: time.Unix(created, 0).UTC(), Region: "us-east-1", Resources: []string{}, Detail: json.RawMessage(e.JSON()),
		}
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("new: %w", err)
	}
	return append(b, '\n'), nil
}

// canonical returns a lower-case header name as clients send it:
// content-type -> Content-Type.
func canonical(name string) string {
	parts := strings.Split(name, "-")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "-")
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// uuid returns a random version 4 UUID.
func uuid() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
