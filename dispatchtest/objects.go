package dispatchtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"stripetask/dispatch"
	"stripetask/internal/devtools"
)

//go:generate go run ./internal/objectgen -o objects_gen.go

// objectSource says where one kind of object comes from: a GET of the path
// get on stripe-mock, or the fixture, as JSON.
type objectSource struct {
	get, fixture string
}

// Source is where the kit took the data.object of an event from: see
// ObjectSource.
type Source string

// The sources of data.object.
const (
	// FromGET: a GET of the object's resource on stripe-mock, at the path
	// stripe-mock's OpenAPI specification gives.
	FromGET Source = "GET"
	// FromFixture: stripe-mock's own fixture of the object (fixtures3.json),
	// for kinds the specification has no GET for.
	FromFixture Source = "fixture"
	// FromMinimal: {"id": ..., "object": ...} alone, for kinds stripe-mock
	// does not know.
	FromMinimal Source = "minimal"
)

// untypedKinds are the kinds of object of the event types stripe-go v76
// has no type for (dispatch.ObjectKinds has none): retired objects, and a
// notification about a source.
var untypedKinds = map[string]string{
	"order.created":               "order",
	"recipient.created":           "recipient",
	"recipient.deleted":           "recipient",
	"recipient.updated":           "recipient",
	"sku.created":                 "sku",
	"sku.deleted":                 "sku",
	"sku.updated":                 "sku",
	"source.mandate_notification": "source_mandate_notification",
}

// minimalIDs are the ids of the minimal objects of the kinds above that
// stripe-mock does not know; any other kind's minimal object has the id
// "obj_dispatchtest".
var minimalIDs = map[string]string{
	"order":     "or_dispatchtest",
	"recipient": "rp_dispatchtest",
	"sku":       "sku_dispatchtest",
}

// ObjectKind returns the kind of object the kit puts in data.object for an
// event of type eventType, and where it takes it from. For stripe-go's
// event types the kind is the first of dispatch.ObjectKinds (a card for
// customer.source.*, a bank account for account.external_account.*), or
// the retired object of the eight types stripe-go has no type for
// (order.created, recipient.*, sku.*) and source_mandate_notification. For
// other types (a Handler's ExtraEventTypes) it is the type without its last
// part ("billing.alert.triggered" carries a "billing.alert"), or, when
// stripe-mock does not know that, the same with leading parts dropped
// ("customer.subscription.paused_again" carries a "subscription"); failing
// both, that first guess, as a minimal object.
func ObjectKind(eventType string) (kind string, src Source) {
	kind = objectKind(eventType)
	return kind, sourceOf(kind)
}

func objectKind(eventType string) string {
	if kinds := dispatch.ObjectKinds(eventType); len(kinds) > 0 {
		return kinds[0]
	}
	if k, ok := untypedKinds[eventType]; ok {
		return k
	}
	i := strings.LastIndexByte(eventType, '.')
	if i < 0 {
		return eventType
	}
	guess := eventType[:i]
	for k := guess; ; {
		if _, ok := objectSources[k]; ok {
			return k
		}
		_, rest, ok := strings.Cut(k, ".")
		if !ok {
			return guess
		}
		k = rest
	}
}

func sourceOf(kind string) Source {
	switch s, ok := objectSources[kind]; {
	case !ok:
		return FromMinimal
	case s.get != "":
		return FromGET
	}
	return FromFixture
}

// objects hands out the objects of one stripe-mock, fetching each kind
// once. It is safe for concurrent use.
type objects struct {
	api    string // stripe-mock's base URL
	client *http.Client

	mu    sync.Mutex
	cache map[string][]byte // kind -> compact JSON
}

func newObjects(api string) *objects {
	return &objects{api: strings.TrimSuffix(api, "/"), client: &http.Client{Timeout: 30 * time.Second}, cache: map[string][]byte{}}
}

// object returns an object of kind, as compact JSON. Fetched objects are
// kept; a failed fetch is tried again by the next call.
func (o *objects) object(ctx context.Context, kind string) ([]byte, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if b, ok := o.cache[kind]; ok {
		return b, nil
	}
	var b []byte
	switch s, ok := objectSources[kind]; {
	case !ok:
		id := minimalIDs[kind]
		if id == "" {
			id = "obj_dispatchtest"
		}
		b, _ = json.Marshal(struct {
			ID     string `json:"id"`
			Object string `json:"object"`
		}{id, kind})
	case s.get != "":
		var err error
		if b, err = o.get(ctx, kind, s.get); err != nil {
			return nil, err
		}
	default:
		b = []byte(s.fixture)
	}
	o.cache[kind] = b
	return b, nil
}

// get fetches the object of kind at path from stripe-mock.
func (o *objects) get(ctx context.Context, kind, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.api+path, nil)
	if err != nil {
		return nil, fmt.Errorf("a %s from stripe-mock: %w", kind, err)
	}
	req.Header.Set("Authorization", "Bearer "+devtools.StripeMockKey)
	res, err := o.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("a %s from stripe-mock: %w", kind, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("a %s from stripe-mock: GET %s: %w", kind, path, err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("a %s from stripe-mock: GET %s: %s: %.300s", kind, path, res.Status, body)
	}
	var head struct {
		Object string `json:"object"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return nil, fmt.Errorf("a %s from stripe-mock: GET %s: %w", kind, path, err)
	}
	if head.Object != kind {
		return nil, fmt.Errorf("a %s from stripe-mock: GET %s answered a %q", kind, path, head.Object)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, body); err != nil {
		return nil, fmt.Errorf("a %s from stripe-mock: GET %s: %w", kind, path, err)
	}
	return buf.Bytes(), nil
}
