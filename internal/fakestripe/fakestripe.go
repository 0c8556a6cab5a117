// Package fakestripe is a fake of the parts of Stripe's API that stripe-mock
// cannot serve faithfully, for tests: the Events API, whose list stripe-mock
// answers with one fixture whatever the filters, and the webhook endpoints
// the reconciler watches. It follows Stripe's documented semantics:
//
//   - GET /v1/events lists the stored events newest first (by created, then
//     by the order they were added), filtered by created[gt|gte|lt|lte],
//     types[] (exact, up to 20) or type (exact, or a prefix with *), and
//     paginated by limit (1 to 100, default 10), starting_after and
//     ending_before, with has_more;
//   - GET /v1/events/{id} returns one event, or a resource_missing 404;
//   - GET /v1/webhook_endpoints/{id} returns an endpoint with its status.
//
// Everything else is a 404. Requests need a Bearer key. A Server can be
// made to fail (SetDown) to test outages.
package fakestripe

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Server is a running fake. Its methods are safe for concurrent use.
type Server struct {
	srv *http.Server
	url string

	mu        sync.Mutex
	events    []event // in the order added
	endpoints map[string]string
	down      bool
	requests  []string // "GET /v1/events?..." in order
}

// event is one stored event.
type event struct {
	id      string
	typ     string
	created int64
	raw     json.RawMessage
}

// Start runs a fake on a free loopback port until the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &Server{url: "http://" + ln.Addr().String(), endpoints: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/events", s.list)
	mux.HandleFunc("GET /v1/events/{id}", s.get)
	mux.HandleFunc("GET /v1/webhook_endpoints/{id}", s.endpoint)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusNotFound, "invalid_request_error", "resource_missing", "Unrecognized request URL ("+r.Method+": "+r.URL.Path+").")
	})
	s.srv = &http.Server{Handler: s.guard(mux)}
	go s.srv.Serve(ln)
	tb.Cleanup(func() { s.srv.Close() })
	return s
}

// URL is the base URL to use as STRIPE_API_BASE.
func (s *Server) URL() string { return s.url }

// Add stores events, given as the JSON Stripe renders them (with id,
// type and created); they are listed newest first, later additions first
// among events created in the same second.
func (s *Server) Add(tb testing.TB, raw ...[]byte) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range raw {
		var head struct {
			ID      string `json:"id"`
			Type    string `json:"type"`
			Created int64  `json:"created"`
		}
		if err := json.Unmarshal(r, &head); err != nil || head.ID == "" || head.Type == "" || head.Created == 0 {
			tb.Fatalf("fakestripe: an event needs id, type and created: %v: %s", err, r)
		}
		s.events = append(s.events, event{id: head.ID, typ: head.Type, created: head.Created, raw: json.RawMessage(r)})
	}
}

// Event returns the JSON of a Stripe event with the given id, type and
// creation time, whose data.object is object (JSON).
func Event(id, typ string, created int64, object string) []byte {
	return []byte(fmt.Sprintf(`{"id":%q,"object":"event","api_version":"2023-10-16","created":%d,"livemode":false,"pending_webhooks":0,"request":{"id":null,"idempotency_key":null},"type":%q,"data":{"object":%s}}`, id, created, typ, object))
}

// SetEndpoint sets the status ("enabled" or "disabled") of a webhook
// endpoint.
func (s *Server) SetEndpoint(id, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endpoints[id] = status
}

// SetDown makes every request fail with a 500 (down) or be served again.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// Requests returns the requests served so far, as "METHOD path?query".
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// guard records each request, requires a key and fails while down.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.Method+" "+r.URL.RequestURI())
		down := s.down
		s.mu.Unlock()
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			apiError(w, http.StatusUnauthorized, "invalid_request_error", "", "You did not provide an API key.")
			return
		}
		if down {
			apiError(w, http.StatusInternalServerError, "api_error", "", "fakestripe is down")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.events {
		if e.id == id {
			writeJSON(w, e.raw)
			return
		}
	}
	apiError(w, http.StatusNotFound, "invalid_request_error", "resource_missing", "No such event: '"+id+"'")
}

func (s *Server) endpoint(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	status, ok := s.endpoints[id]
	s.mu.Unlock()
	if !ok {
		apiError(w, http.StatusNotFound, "invalid_request_error", "resource_missing", "No such webhook endpoint: '"+id+"'")
		return
	}
	b, _ := json.Marshal(map[string]any{"id": id, "object": "webhook_endpoint", "status": status, "url": "https://example.com/webhook", "enabled_events": []string{"*"}})
	writeJSON(w, b)
}

// list serves GET /v1/events.
func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 10
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			apiError(w, http.StatusBadRequest, "invalid_request_error", "parameter_invalid_integer", "limit must be between 1 and 100")
			return
		}
		limit = n
	}
	// stripe-go sends types[0], types[1], ...; curl users types[].
	var types []string
	for k, vs := range q {
		if strings.HasPrefix(k, "types[") {
			types = append(types, vs...)
		}
	}
	if t := q.Get("type"); t != "" && len(types) > 0 {
		apiError(w, http.StatusBadRequest, "invalid_request_error", "", "You may pass either type or types, but not both.")
		return
	}
	if len(types) > 20 {
		apiError(w, http.StatusBadRequest, "invalid_request_error", "", "types: at most 20")
		return
	}
	match := func(e event) bool {
		if !created(q, e.created) {
			return false
		}
		if t := q.Get("type"); t != "" {
			if p, ok := strings.CutSuffix(t, "*"); ok {
				return strings.HasPrefix(e.typ, p)
			}
			return e.typ == t
		}
		return len(types) == 0 || slices.Contains(types, e.typ)
	}
	s.mu.Lock()
	// Newest first: by created, descending; later additions first.
	var sel []event
	for i := len(s.events) - 1; i >= 0; i-- {
		if match(s.events[i]) {
			sel = append(sel, s.events[i])
		}
	}
	s.mu.Unlock()
	slices.SortStableFunc(sel, func(a, b event) int {
		switch {
		case a.created > b.created:
			return -1
		case a.created < b.created:
			return 1
		}
		return 0
	})
	index := func(id string) int {
		return slices.IndexFunc(sel, func(e event) bool { return e.id == id })
	}
	var page []event
	hasMore := false
	switch after, before := q.Get("starting_after"), q.Get("ending_before"); {
	case after != "":
		i := index(after)
		if i < 0 {
			apiError(w, http.StatusBadRequest, "invalid_request_error", "resource_missing", "No such event: '"+after+"'")
			return
		}
		page = sel[i+1:]
		hasMore = len(page) > limit
		page = page[:min(limit, len(page))]
	case before != "":
		i := index(before)
		if i < 0 {
			apiError(w, http.StatusBadRequest, "invalid_request_error", "resource_missing", "No such event: '"+before+"'")
			return
		}
		start := max(0, i-limit)
		hasMore = start > 0
		page = sel[start:i]
	default:
		hasMore = len(sel) > limit
		page = sel[:min(limit, len(sel))]
	}
	data := make([]json.RawMessage, len(page))
	for i, e := range page {
		data[i] = e.raw
	}
	b, _ := json.Marshal(map[string]any{"object": "list", "url": "/v1/events", "has_more": hasMore, "data": data})
	writeJSON(w, b)
}

// created applies the created[...] filters to t.
func created(q url.Values, t int64) bool {
	for op, keep := range map[string]func(int64) bool{
		"gt":  func(v int64) bool { return t > v },
		"gte": func(v int64) bool { return t >= v },
		"lt":  func(v int64) bool { return t < v },
		"lte": func(v int64) bool { return t <= v },
	} {
		if s := q.Get("created[" + op + "]"); s != "" {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil || !keep(v) {
				return false
			}
		}
	}
	if s := q.Get("created"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		return err == nil && t == v
	}
	return true
}

func writeJSON(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-Id", "req_fake")
	w.Write(b)
}

func apiError(w http.ResponseWriter, status int, typ, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"type": typ, "code": code, "message": msg}})
	w.Write(b)
}
