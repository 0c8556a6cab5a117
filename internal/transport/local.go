package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Timeouts of the local modes.
const (
	invokeTimeout   = 30 * time.Second // Lambda's default function timeout
	shutdownTimeout = 10 * time.Second
)

// Options configures [Main]. Only Name and Path usually need to be set; the
// other fields default to the real process environment and exist for tests.
type Options struct {
	// Name is the program name shown in usage and error messages.
	// It defaults to the base name of os.Args[0].
	Name string

	// Path is the route that serve mode mounts the handler at, such as
	// "/webhook"; requests for other paths get a 404 JSON error. If Path
	// is "" or "/", the handler serves every path.
	Path string

	// DefaultAddr is the default listen address of serve mode. It
	// defaults to "127.0.0.1:3000": loopback, since a local function runs
	// with whatever secrets its environment holds; `serve -addr` opts in
	// to other interfaces (":3000", "0.0.0.0:3000" for all of them).
	DefaultAddr string

	// Stdin, Stdout and Stderr default to os.Stdin, os.Stdout and
	// os.Stderr.
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer

	// Getenv looks up environment variables. It defaults to os.Getenv.
	Getenv func(key string) string

	// Prepare, if not nil, is applied to the request in invoke mode before
	// the handler sees it; the webhook uses it to sign recorded events
	// afresh. If Prepare reads r.Body it must replace it, and update
	// r.ContentLength if the body changes. If Prepare returns an error,
	// invoke mode reports it and fails.
	Prepare func(r *http.Request) error

	// Log receives the messages of serve mode and, in every mode, a line
	// for each error response the transport makes itself (see
	// [LambdaHandler]). It defaults to a text logger writing to Stderr.
	Log *slog.Logger

	// StartLambda runs the handler as an AWS Lambda function; it is called
	// when the environment variable AWS_LAMBDA_RUNTIME_API is set and is
	// not expected to return. It defaults to lambda.StartWithOptions with
	// lambda.WithContext(ctx).
	StartLambda func(ctx context.Context, h lambda.Handler)

	// Ready, if not nil, is called in serve mode with the address the
	// server listens on, once it accepts connections.
	Ready func(addr net.Addr)

	// Other, if not nil, serves the Lambda payloads that are no HTTP
	// event, in AWS Lambda and in invoke mode (see LambdaHandler.Other).
	Other lambda.Handler
}

// Main runs h as the command-line arguments args (os.Args[1:], without the
// program name) direct and returns the process exit code.
//
// In AWS Lambda, where AWS_LAMBDA_RUNTIME_API is set, Main ignores args and
// runs h as the function through a [LambdaHandler] logging to Options.Log.
// Elsewhere it offers two local modes:
//
//	serve [-addr ADDR]   serve h over HTTP at Options.Path until ctx is
//	                     done or the process receives SIGINT or SIGTERM
//	invoke FILE          run the Lambda event in FILE ("-" for standard
//	                     input) through the Lambda handler and print the
//	                     Lambda response
//
// Both modes put a request ID in the request context, see [RequestID]. In
// serve mode a panic in h is left to net/http, which logs it and drops the
// connection; in AWS Lambda and invoke mode it becomes a 500 response. The
// error responses the transport makes itself, such as serve mode's 404 for
// a path other than Options.Path, are JSON and logged as [LambdaHandler]
// describes.
//
// Main returns 0 on success, including an invocation whose response has an
// error status, 1 on failure and 2 on usage errors.
func Main(ctx context.Context, h http.Handler, args []string, opts Options) int {
	o := opts.withDefaults()
	if o.Getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		o.StartLambda(ctx, &LambdaHandler{Handler: h, Log: o.Log, Other: o.Other})
		return 0
	}
	if len(args) == 0 {
		o.usage(o.Stderr)
		return 2
	}
	switch args[0] {
	case "serve":
		return o.serve(ctx, h, args[1:])
	case "invoke":
		return o.invoke(ctx, h, args[1:])
	case "help", "-h", "-help", "--help":
		o.usage(o.Stdout)
		return 0
	}
	fmt.Fprintf(o.Stderr, "%s: unknown command %q\n\n", o.Name, args[0])
	o.usage(o.Stderr)
	return 2
}

// withDefaults returns a copy of o with its unset fields set to defaults.
func (o Options) withDefaults() Options {
	if o.Name == "" {
		o.Name = filepath.Base(os.Args[0])
	}
	if o.DefaultAddr == "" {
		o.DefaultAddr = "127.0.0.1:3000"
	}
	if o.Stdin == nil {
		o.Stdin = os.Stdin
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(o.Stderr, nil))
	}
	if o.StartLambda == nil {
		o.StartLambda = func(ctx context.Context, h lambda.Handler) {
			lambda.StartWithOptions(h, lambda.WithContext(ctx))
		}
	}
	return o
}

// usage writes the usage text to w.
func (o *Options) usage(w io.Writer) {
	path := o.Path
	if path == "" {
		path = "/"
	}
	fmt.Fprintf(w, `Usage:
  %[1]s serve [-addr ADDR]   serve the function over HTTP at %[2]s
                              (default address %[3]s) until interrupted
  %[1]s invoke FILE          run the API Gateway, function URL or ALB event
                              in FILE ("-" for standard input) through the
                              function and print the Lambda response
  %[1]s help                 print this help

In AWS Lambda, where AWS_LAMBDA_RUNTIME_API is set, %[1]s ignores its
arguments and runs as the Lambda function.
`, o.Name, path, o.DefaultAddr)
}

// serve runs the serve command.
func (o *Options) serve(ctx context.Context, h http.Handler, args []string) int {
	fs := flag.NewFlagSet(o.Name+" serve", flag.ContinueOnError)
	fs.SetOutput(o.Stderr)
	addr := fs.String("addr", o.DefaultAddr, "listen on `address` (:PORT or 0.0.0.0:PORT for every interface)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(o.Stderr, "%s serve: unexpected arguments %q\n", o.Name, fs.Args())
		return 2
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", *addr)
	if err != nil {
		fmt.Fprintf(o.Stderr, "%s serve: %v\n", o.Name, err)
		return 1
	}
	srv := &http.Server{
		Handler:           localHandler(h, o.Path, o.Log),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(o.Log.Handler(), slog.LevelError),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	o.Log.Info("listening", "addr", ln.Addr().String(), "path", o.Path)
	if o.Ready != nil {
		o.Ready(ln.Addr())
	}

	// net/http's errors here are the listener's and the shutdown's: they
	// quote no request, and the transport holds no secrets.
	select {
	case err := <-errc:
		o.Log.Error("serving", "err", err)
		return 1
	case <-ctx.Done():
	}
	o.Log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	<-errc // http.ErrServerClosed
	if err != nil {
		o.Log.Error("shutting down", "err", err)
		return 1
	}
	return 0
}

// localHandler returns the handler of serve mode: h at path, with a random
// request ID in each request's context. It answers requests for other paths
// with a 404 error, logged to log.
func localHandler(h http.Handler, path string, log *slog.Logger) http.Handler {
	all := path == "" || path == "/"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := newRequestID()
		ctx := withRequestID(r.Context(), id)
		if !all && r.URL.Path != path {
			writeError(ctx, w, log, id, &failure{
				status: http.StatusNotFound,
				msg:    msgNotFound,
				err:    fmt.Errorf("no handler for path %q: serve mode serves %q only", r.URL.Path, path),
			})
			return
		}
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// invoke runs the invoke command.
func (o *Options) invoke(ctx context.Context, h http.Handler, args []string) int {
	if len(args) != 1 {
		fmt.Fprintf(o.Stderr, "usage: %s invoke FILE\n", o.Name)
		return 2
	}
	payload, err := o.readEvent(args[0])
	if err != nil {
		fmt.Fprintf(o.Stderr, "%s invoke: %v\n", o.Name, err)
		return 1
	}
	var prepareErr error
	if o.Prepare != nil {
		h = prepared(h, o.Prepare, o.Log, &prepareErr)
	}

	ctx, cancel := context.WithTimeout(ctx, invokeTimeout)
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
		AwsRequestID:       newUUID(),
		InvokedFunctionArn: "arn:aws:lambda:local:000000000000:function:" + o.Name,
	})
	l := &LambdaHandler{Handler: h, Log: o.Log, Other: o.Other}
	out, err := l.Invoke(ctx, payload)
	if err == nil && prepareErr != nil {
		err = fmt.Errorf("preparing request: %w", prepareErr)
	}
	if err != nil {
		fmt.Fprintf(o.Stderr, "%s invoke: %s: %v\n", o.Name, args[0], err)
		return 1
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, out, "", "  "); err != nil {
		fmt.Fprintf(o.Stderr, "%s invoke: formatting response: %v\n", o.Name, err)
		return 1
	}
	buf.WriteByte('\n')
	if _, err := o.Stdout.Write(buf.Bytes()); err != nil {
		fmt.Fprintf(o.Stderr, "%s invoke: writing response: %v\n", o.Name, err)
		return 1
	}
	return 0
}

// readEvent returns the contents of the named file, or of Stdin for "-".
func (o *Options) readEvent(name string) ([]byte, error) {
	if name == "-" {
		b, err := io.ReadAll(o.Stdin)
		if err != nil {
			return nil, fmt.Errorf("reading standard input: %w", err)
		}
		return b, nil
	}
	return os.ReadFile(name)
}

// prepared returns a handler that applies prepare to each request before
// passing it to h. If prepare fails, the handler records the error in *errp
// and responds with a 500 error, logged to log.
func prepared(h http.Handler, prepare func(*http.Request) error, log *slog.Logger, errp *error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := prepare(r); err != nil {
			*errp = err
			ctx := r.Context()
			writeError(ctx, w, log, RequestID(ctx), &failure{
				status: http.StatusInternalServerError,
				msg:    msgInternal,
				err:    fmt.Errorf("preparing request: %w", err),
			})
			return
		}
		h.ServeHTTP(w, r)
	})
}
