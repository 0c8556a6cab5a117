package dispatch

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestLocate(t *testing.T) {
	tests := []struct {
		name, body string
		typ, obj   string
		ok         bool
	}{
		{"plain", `{"id":"evt_1","type":"charge.succeeded","data":{"object":{"id":"ch_1"}}}`, "charge.succeeded", `{"id":"ch_1"}`, true},
		{"type last, spaces", " {\n \"data\" : { \"previous_attributes\": {\"a\":[1,{\"type\":\"x\"}]}, \"object\" :\t{\"k\":\"}\\\"{\"} } ,\"type\" : \"invoice.paid\" } ", "invoice.paid", `{"k":"}\"{"}`, true},
		{"nested type keys ignored", `{"data":{"object":{"type":"card","x":{"type":"y"}}},"type":"payment_method.attached"}`, "payment_method.attached", `{"type":"card","x":{"type":"y"}}`, true},
		{"literals", `{"livemode":false,"created":1.5e3,"account":null,"type":"a.b","data":{"object":{}}}`, "a.b", `{}`, true},
		{"no type", `{"data":{"object":{}}}`, "", "", false},
		{"no data", `{"type":"a.b"}`, "", "", false},
		{"no object", `{"type":"a.b","data":{}}`, "", "", false},
		{"type not a string", `{"type":7,"data":{"object":{}}}`, "", "", false},
		{"escaped type", `{"type":"a\u002eb","data":{"object":{}}}`, "", "", false},
		{"escaped key", `{"t\u0079pe":"a.b","data":{"object":{}}}`, "", "", false},
		{"case variant key", `{"TYPE":"a.b","type":"c.d","data":{"object":{}}}`, "", "", false},
		{"duplicate type", `{"type":"a.b","type":"c.d","data":{"object":{}}}`, "", "", false},
		{"duplicate data", `{"type":"a.b","data":{"object":{}},"data":{}}`, "", "", false},
		{"duplicate object", `{"type":"a.b","data":{"object":{},"object":{"x":1}}}`, "", "", false},
		{"not an object", `["type","a.b"]`, "", "", false},
		{"truncated", `{"type":"a.b","data":{"object":{"x":`, "", "", false},
		{"empty", ``, "", "", false},
	}
	for _, tt := range tests {
		typ, obj, ok := locate([]byte(tt.body))
		if ok != tt.ok || string(typ) != tt.typ || string(obj) != tt.obj {
			t.Errorf("%s: locate = %q, %q, %v; want %q, %q, %v", tt.name, typ, obj, ok, tt.typ, tt.obj, tt.ok)
		}
	}
}

// reference is what encoding/json makes of the keys locate reads.
type reference struct {
	Type string `json:"type"`
	Data *struct {
		Object json.RawMessage `json:"object"`
	} `json:"data"`
}

// FuzzLocate checks locate against encoding/json: whenever locate answers
// for a valid JSON body, its answer is encoding/json's.
func FuzzLocate(f *testing.F) {
	for _, s := range []string{
		`{"id":"evt_1","type":"charge.succeeded","data":{"object":{"id":"ch_1"}}}`,
		`{"data":{"object":{"type":"card"},"previous_attributes":{"a":"\"}"}},"type":"x.y"}`,
		`{"TYPE":"a","type":"b","data":{"object":{}}}`,
		`{"type":"a","data":{"Object":{},"object":[]}}`,
	} {
		f.Add([]byte(s))
	}
	// The fixtures, as Stripe sends events.
	files, _ := filepath.Glob("../events/*.json")
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		var e events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &e); err == nil && !e.IsBase64Encoded {
			f.Add([]byte(e.Body))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		typ, obj, ok := locate(body)
		var ref reference
		if json.Unmarshal(body, &ref) != nil || !ok {
			return
		}
		if ref.Data == nil || string(typ) != ref.Type || string(obj) != string(ref.Data.Object) {
			t.Fatalf("locate(%q) = %q, %q; encoding/json says %q, %v", body, typ, obj, ref.Type, ref.Data)
		}
	})
}

func TestObjectID(t *testing.T) {
	for _, tt := range []struct{ obj, want string }{
		{`{"id":"sub_1","object":"subscription"}`, "sub_1"},
		{`{"object":"subscription", "id" : "sub_2"}`, "sub_2"},
		{`{"customer":{"id":"cus_1"},"id":"sub_3"}`, "sub_3"},
		{`{"id":"sub_\u0034"}`, "sub_4"},
		{`{"ID":"sub_5"}`, "sub_5"}, // encoding/json matches keys case-insensitively
		{`{"id":5}`, ""},
		{`{"object":"balance"}`, ""},
		{`{}`, ""},
		{`not json`, ""},
	} {
		if got := objectID([]byte(tt.obj)); got != tt.want {
			t.Errorf("objectID(%s) = %q, want %q", tt.obj, got, tt.want)
		}
	}
}
