package payapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
)

// MaxBodyBytes is the largest request body accepted: 64 KiB.
const MaxBodyBytes = 64 << 10

// decode reads the request body as one JSON object into dst, a pointer to
// a struct. An empty body leaves dst as it is, so routes whose fields are
// all optional may be called without one; required fields are checked by
// the route. A body must be JSON (415 otherwise) of at most MaxBodyBytes
// (413), hold one object and nothing after it, and name only dst's fields.
func (c *call) decode(dst any) error {
	r := c.r
	if r.ContentLength > MaxBodyBytes {
		return tooLarge(&http.MaxBytesError{Limit: MaxBodyBytes})
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.w, r.Body, MaxBodyBytes))
	if err != nil {
		if e, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return tooLarge(e)
		}
		return &apiError{status: http.StatusBadRequest, msg: "body could not be read", err: err}
	}
	if len(body) == 0 {
		return nil
	}
	if ct := r.Header.Get("Content-Type"); !isJSON(ct) {
		return &apiError{status: http.StatusUnsupportedMediaType, msg: "Content-Type must be application/json",
			err: fmt.Errorf("%w: %q", errMediaType, ct)}
	}
	if bytes.Equal(bytes.TrimSpace(body), []byte("null")) {
		// encoding/json decodes null into a struct as "no change": it
		// would pass as an empty object.
		return &apiError{status: http.StatusBadRequest, msg: "body must be a JSON object, not null", err: errMalformed}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return &apiError{status: http.StatusBadRequest, msg: "body must hold one JSON object and nothing after it", err: errMalformed}
	}
	return nil
}

// tooLarge is the 413 failure.
func tooLarge(err error) error {
	return &apiError{status: http.StatusRequestEntityTooLarge, msg: "body exceeds 64 KiB", err: fmt.Errorf("%w: %w", errTooLarge, err)}
}

// isJSON reports whether the Content-Type ct is application/json or
// another JSON type (application/*+json), in UTF-8.
func isJSON(ct string) bool {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return false
	}
	return mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")
}

// decodeError maps an encoding/json error to a 400 that names the field
// at fault where there is one.
func decodeError(err error) error {
	if e, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		if e.Field == "" {
			return &apiError{status: http.StatusBadRequest, msg: "body must be a JSON object", err: fmt.Errorf("%w: %w", errMalformed, err)}
		}
		// "metadata.order" names the top-level field "metadata".
		top, _, _ := strings.Cut(e.Field, ".")
		return invalid(top, "must be %s", describe(e))
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		field := strings.Trim(name, `"`)
		return invalid(field, "is not a known field")
	}
	return &apiError{status: http.StatusBadRequest, msg: "body is not valid JSON", err: fmt.Errorf("%w: %w", errMalformed, err)}
}

// describe says what a field of the wrong JSON type should have been.
func describe(e *json.UnmarshalTypeError) string {
	if strings.Contains(e.Field, ".") {
		return "an object of strings" // a metadata value
	}
	switch e.Type.Kind() {
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.String:
		return "a string"
	case reflect.Map:
		return "an object of strings"
	}
	return "of type " + e.Type.String()
}
