// Package lambdaenv runs a function's handler in AWS Lambda, and ends the
// execution environment after an answer when work that must not outlive
// the answer is still going on.
//
// Lambda freezes the execution environment as soon as the runtime has
// answered and asks for the next invocation: no goroutine runs until the
// next invocation thaws it, minutes or hours later, or never
// (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html).
// A method abandoned at its deadline (pipeline.HandlerTimeout) is such
// work: frozen, it holds its claim while its lease runs out, and thawed it
// resumes beside, or after, the retry that took its claim over. So when
// the pipeline reports an abandoned run after an invocation, Start posts
// the invocation's answer to the Runtime API itself and exits the process:
// the run dies like a crash, its claim lapses at its lease, a retry runs
// the event once more, and the next invocation of this function starts in
// a new execution environment (a cold start).
//
// aws-lambda-go offers no way to end the process after its own post of an
// answer, so this package posts it, as the Runtime API documents
// (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html):
// POST /2018-06-01/runtime/invocation/{id}/response with the answer, or
// /error with {"errorMessage","errorType"} and the
// Lambda-Runtime-Function-Error-Type header, as aws-lambda-go does. Lambda
// sends a posted response to its caller at once; the process then exits
// before asking for the next invocation, which Lambda logs as
// Runtime.ExitError for the environment and answers by starting a new one.
package lambdaenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"reflect"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// postTimeout bounds the post of an answer to the Runtime API, a local
// endpoint that answers at once.
const postTimeout = 2 * time.Second

// MustEnd reports, after an invocation, whether the execution environment
// must end: work is still going on that must not survive a freeze
// (pipeline.Pipeline.Abandoned). It is asked after every invocation, so it
// returns at once when there is none; it may wait a moment, bounded by
// itself, for such work to finish.
type MustEnd func(ctx context.Context) bool

// Start runs handler (anything lambda.NewHandler takes) as the function,
// with ctx as the base context of every invocation, and does not return.
// After each invocation it asks mustEnd (nil: never) and, if the
// environment must end, posts the answer itself, logs why to log, and
// exits the process with status 0.
func Start(ctx context.Context, handler any, mustEnd MustEnd, log *slog.Logger) {
	h := lambda.NewHandler(handler)
	if mustEnd != nil {
		h = &Ending{Handler: h, MustEnd: mustEnd, Log: log, API: os.Getenv("AWS_LAMBDA_RUNTIME_API"), Exit: os.Exit}
	}
	lambda.StartWithOptions(h, lambda.WithContext(ctx))
}

// Ending is a lambda.Handler that ends the execution environment after an
// answer when MustEnd says so. Start builds one; tests build their own.
type Ending struct {
	Handler lambda.Handler
	MustEnd MustEnd
	// Log receives the line saying the environment ends (nil: discarded).
	Log *slog.Logger
	// API is the Runtime API's host:port (AWS_LAMBDA_RUNTIME_API).
	API string
	// Exit ends the process (os.Exit).
	Exit func(code int)
	// Client posts the answer; nil means a client of its own.
	Client *http.Client
}

// Invoke runs the invocation, then ends the environment if it must.
func (e *Ending) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	out, err := e.Handler.Invoke(ctx, payload)
	if !e.MustEnd(context.WithoutCancel(ctx)) {
		return out, err
	}
	id := ""
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		id = lc.AwsRequestID
	}
	perr := e.post(ctx, id, out, err)
	if e.Log != nil {
		attrs := []any{"request_id", id}
		if perr != nil {
			attrs = append(attrs, "error", perr.Error())
		}
		e.Log.Warn("ending this execution environment after the answer: a method abandoned at its deadline is still running, and Lambda would freeze it with its claim; its claim lapses at its lease and a retry runs the event again, in a new environment", attrs...)
	}
	e.Exit(0)
	return out, err // only when Exit returns (tests)
}

// errorBody is the Runtime API's invocation error document.
type errorBody struct {
	Message string `json:"errorMessage"`
	Type    string `json:"errorType"`
}

// post sends the answer of invocation id to the Runtime API.
func (e *Ending) post(ctx context.Context, id string, out []byte, invokeErr error) error {
	if e.API == "" || id == "" {
		return fmt.Errorf("no Runtime API address or request id to post the answer to")
	}
	url := "http://" + e.API + "/2018-06-01/runtime/invocation/" + id + "/response"
	body, typ := out, ""
	if invokeErr != nil {
		url = "http://" + e.API + "/2018-06-01/runtime/invocation/" + id + "/error"
		typ = errorType(invokeErr)
		var err error
		if body, err = json.Marshal(errorBody{Message: invokeErr.Error(), Type: typ}); err != nil {
			return fmt.Errorf("encoding the error answer: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), postTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("posting the answer: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if typ != "" {
		req.Header.Set("Lambda-Runtime-Function-Error-Type", typ)
	}
	c := e.Client
	if c == nil {
		c = &http.Client{Transport: &http.Transport{Proxy: nil}}
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("posting the answer: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("posting the answer: the Runtime API answered %d", resp.StatusCode)
	}
	return nil
}

// errorType names err's type as aws-lambda-go does in its error answers.
func errorType(err error) string {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}
