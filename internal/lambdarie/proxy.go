package lambdarie

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Runtime API paths (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html).
const (
	runtimePrefix  = "/2018-06-01/runtime/invocation/"
	nextPath       = runtimePrefix + "next"
	requestIDHdr   = "Lambda-Runtime-Aws-Request-Id"
	errorTypeHdr   = "Lambda-Runtime-Function-Error-Type"
	maxPostedBytes = 64 << 20 // well above Lambda's 6 MB response limit
	proxyHeaders   = 30 * time.Second
	proxyDrain     = 5 * time.Second // Stop's wait for the proxy's handlers
)

// proxy is the Runtime API the bootstrap talks to: it forwards every call
// to RIE's, freezes the bootstrap at its /next until RIE hands it an
// invocation, and records what the function posts.
type proxy struct {
	env      *environment
	upstream string // RIE's Runtime API, host:port
	client   *http.Client
	server   *http.Server
	listener net.Listener
	errs     chan error // freezes that failed, reported by Stop

	mu      sync.Mutex
	active  int           // handlers running
	closed  bool          // close has begun
	drained chan struct{} // closed once closed and no handler runs
}

// newProxy listens on a free 127.0.0.1 port for the bootstrap's calls to
// RIE's Runtime API at upstream.
func newProxy(upstream string) (*proxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("lambdarie: the Runtime API proxy: %w", err)
	}
	p := &proxy{
		upstream: upstream,
		// No timeout: a /next waits as long as no invocation comes, as on
		// Lambda; it ends with the bootstrap's connection.
		client:   &http.Client{Transport: &http.Transport{Proxy: nil, DisableCompression: true}},
		listener: l,
		errs:     make(chan error, 16),
		drained:  make(chan struct{}),
	}
	p.server = &http.Server{Handler: p, ReadHeaderTimeout: proxyHeaders}
	return p, nil
}

// addr is the proxy's address, for AWS_LAMBDA_RUNTIME_API.
func (p *proxy) addr() string { return p.listener.Addr().String() }

// serve serves until close.
func (p *proxy) serve() { p.server.Serve(p.listener) }

// close stops the proxy and waits, bounded, for its handlers.
func (p *proxy) close() error {
	p.mu.Lock()
	p.closed = true
	if p.active == 0 {
		close(p.drained)
	}
	p.mu.Unlock()
	p.server.Close() // closes the connections: the handlers' calls end
	p.client.CloseIdleConnections()
	select {
	case <-p.drained:
	case <-time.After(proxyDrain):
		return fmt.Errorf("lambdarie: the Runtime API proxy's handlers did not end within %v of Stop", proxyDrain)
	}
	var errs []error
	for {
		select {
		case err := <-p.errs:
			errs = append(errs, err)
		default:
			return errors.Join(errs...)
		}
	}
}

// ServeHTTP forwards one Runtime API call.
func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !p.enter() {
		http.Error(w, "lambdarie proxy: stopping", http.StatusServiceUnavailable)
		return
	}
	defer p.leave()
	proc := p.env.current()
	if proc != nil {
		p.env.sample(proc.pid)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxPostedBytes))
	if err != nil {
		http.Error(w, "lambdarie proxy: reading the request: "+err.Error(), http.StatusBadRequest)
		return
	}
	if r.Method == http.MethodGet && r.URL.Path == nextPath && proc != nil {
		p.next(w, r, proc)
		return
	}
	resp, respBody, err := p.forward(r, body)
	if err != nil {
		http.Error(w, "lambdarie proxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	if id, kind, ok := p.post(r); ok && resp.StatusCode == http.StatusAccepted {
		// Recorded before the function learns it was accepted, and so
		// before it can exit.
		errorType := r.Header.Get(errorTypeHdr)
		if errorType == "" {
			errorType = r.Trailer.Get(errorTypeHdr)
		}
		p.env.posted(id, body, kind == "error", errorType)
	}
	reply(w, resp, respBody)
}

// post returns the invocation id and the kind ("response" or "error") of
// an answer posted to the Runtime API.
func (p *proxy) post(r *http.Request) (id, kind string, ok bool) {
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, runtimePrefix) {
		return "", "", false
	}
	id, kind, _ = strings.Cut(strings.TrimPrefix(r.URL.Path, runtimePrefix), "/")
	return id, kind, kind == "response" || kind == "error"
}

// enter counts a handler in, unless close has begun.
func (p *proxy) enter() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.active++
	return true
}

// leave counts a handler out.
func (p *proxy) leave() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.active--
	if p.closed && p.active == 0 {
		close(p.drained)
	}
}

// next freezes proc, forwards its /next, and thaws it once RIE hands it an
// invocation (or the call fails), before handing the invocation over.
func (p *proxy) next(w http.ResponseWriter, r *http.Request, proc *process) {
	p.env.askedNext(proc, time.Now())
	frozen, err := p.env.freeze(proc)
	if err != nil {
		p.report(err)
	}
	resp, body, err := p.forward(r, nil)
	if frozen {
		p.env.thaw(proc)
	}
	if err != nil {
		http.Error(w, "lambdarie proxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	if id := resp.Header.Get(requestIDHdr); resp.StatusCode == http.StatusOK && id != "" {
		p.env.delivered(id, proc)
	}
	reply(w, resp, body)
}

// report keeps err for Stop.
func (p *proxy) report(err error) {
	select {
	case p.errs <- err:
	default:
	}
}

// hopHeaders are not forwarded (RFC 9110 section 7.6.1).
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// forward sends r, with body, to RIE and returns its answer, read whole.
func (p *proxy) forward(r *http.Request, body []byte) (*http.Response, []byte, error) {
	ctx := r.Context()
	out, err := http.NewRequestWithContext(ctx, r.Method, "http://"+p.upstream+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	out.Header = r.Header.Clone()
	for _, h := range hopHeaders {
		out.Header.Del(h)
	}
	if len(r.Trailer) > 0 {
		out.Trailer = r.Trailer.Clone() // aws-lambda-go's error trailers
		out.ContentLength = -1
	}
	resp, err := p.client.Do(out)
	if err != nil {
		return nil, nil, fmt.Errorf("forwarding %s %s to aws-lambda-rie: %w", r.Method, r.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("reading aws-lambda-rie's answer to %s %s: %w", r.Method, r.URL.Path, err)
	}
	if ctx.Err() != nil {
		return nil, nil, context.Cause(ctx)
	}
	return resp, b, nil
}

// reply writes RIE's answer to the bootstrap.
func reply(w http.ResponseWriter, resp *http.Response, body []byte) {
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	for _, h := range hopHeaders {
		w.Header().Del(h)
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(resp.StatusCode)
	w.Write(body)
}
