// Package hungserver gives a test a server that never answers, or answers
// so slowly that it never finishes: it listens on a 127.0.0.1 port and
// accepts every connection. Start's server reads what the client sends and
// neither answers nor closes the connection until the test ends;
// StartTrickle's and StartTrickleBody's read the request and then send
// their answer one byte at a time, for as long as the test lasts. They
// stand for a remote API that hangs or crawls (Stripe, DynamoDB, a proxy in
// between), which the local stand-ins of the real services, stripe-mock
// and moto_server, cannot be made to do.
package hungserver

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// Start runs the server for the rest of the test and returns its base URL,
// e.g. "http://127.0.0.1:41234", and a function that reports how many
// connections it has accepted so far. When the test ends, it closes the
// listener and every connection and waits for its goroutines to return.
func Start(tb testing.TB) (url string, accepted func() int) {
	tb.Helper()
	return serve(tb, func(c net.Conn, _ <-chan struct{}) {
		// Read the request, so that a client is never held up sending
		// it, only waiting for the answer.
		buf := make([]byte, 4096)
		for { // ends when the connection is closed
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	})
}

// TrickleStatus is the start of what StartTrickle sends: its status line
// and the name of a header whose value never ends.
const TrickleStatus = "HTTP/1.1 200 OK\r\nX-Trickle: "

// TrickleHeader is what StartTrickleBody sends at once: a complete
// response header announcing a JSON body of 1 MiB, more than it can send in
// any test (29 hours at one byte every 100 ms).
const TrickleHeader = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\n\r\n"

// StartTrickle is Start for a server that answers too slowly to ever
// finish: on each connection it reads the client's request, then sends
// TrickleStatus one byte every interval, then one more byte of the header's
// value every interval, until the test ends. The response's header never
// completes, and the connection never goes silent for longer than every:
// a client's read timeout (one that resets with each byte received, as the
// AWS SDK's does) never fires; only a deadline on the whole request ends
// it. Nothing is sent before the request has been read.
func StartTrickle(tb testing.TB, every time.Duration) (url string, accepted func() int) {
	tb.Helper()
	return serve(tb, func(c net.Conn, done <-chan struct{}) {
		if readRequest(c) != nil {
			return
		}
		trickle(c, done, every, []byte(TrickleStatus), 'x')
	})
}

// StartTrickleBody is StartTrickle for a server whose header comes at once
// and whose body crawls: on each connection it reads the client's request,
// sends TrickleHeader, then a JSON body one byte every interval, until the
// test ends. The body is spaces (JSON's whitespace, which any decoder
// waits past for a value), never all the bytes announced.
// A client's wait for the response's header (as http.Transport's
// ResponseHeaderTimeout bounds it) ends at once; its read of the body
// never ends but by a deadline on the whole request.
func StartTrickleBody(tb testing.TB, every time.Duration) (url string, accepted func() int) {
	tb.Helper()
	return serve(tb, func(c net.Conn, done <-chan struct{}) {
		if readRequest(c) != nil {
			return
		}
		if _, err := io.WriteString(c, TrickleHeader); err != nil {
			return
		}
		trickle(c, done, every, nil, ' ')
	})
}

// readRequest reads one HTTP request from c, its body included.
func readRequest(c net.Conn) error {
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, req.Body)
	return err
}

// trickle writes the bytes of first to c, then fill, forever, one byte
// every interval, until done is closed or a write fails (the client has
// gone; the cleanup closed c).
func trickle(c net.Conn, done <-chan struct{}, every time.Duration, first []byte, fill byte) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for i := 0; ; i++ { // ends with the test, or the connection
		select {
		case <-done:
			return
		case <-tick.C:
		}
		b := fill
		if i < len(first) {
			b = first[i]
		}
		if _, err := c.Write([]byte{b}); err != nil {
			return
		}
	}
}

// serve runs a server for the rest of the test whose every accepted
// connection is handled by handle, in a goroutine of its own; done is
// closed when the test ends, as each connection then is. It returns the
// base URL and the count of connections accepted.
func serve(tb testing.TB, handle func(c net.Conn, done <-chan struct{})) (url string, accepted func() int) {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var (
		mu     sync.Mutex
		conns  []net.Conn
		closed bool // by the cleanup: a connection accepted since is closed at once
		wg     sync.WaitGroup
		done   = make(chan struct{})
	)
	wg.Go(func() {
		for { // ends when the listener is closed
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if closed {
				mu.Unlock()
				c.Close()
				return
			}
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { handle(c, done) })
		}
	})
	tb.Cleanup(func() {
		l.Close()
		mu.Lock()
		closed = true
		close(done)
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return "http://" + l.Addr().String(), func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(conns)
	}
}
