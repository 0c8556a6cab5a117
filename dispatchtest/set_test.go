package dispatchtest

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v76"
)

// eventFrom returns an Event holding the JSON s, failing t.
func eventFrom(t *testing.T, s string) *Event {
	t.Helper()
	root, err := parseValue([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return &Event{tb: t, root: root}
}

// compactJSON returns e's JSON without spaces.
func compactJSON(t *testing.T, e *Event) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, e.JSON()); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

const setBase = `{"id":"evt_1","account":null,"data":{"object":{"id":"ch_1","amount":100,"customer":null,"metadata":{},` +
	`"refunds":{"data":[{"id":"re_1","amount":10}]},"big":12345678901234567890,"price":1.50,"note":"a\u00e9<b>"}},"type":"charge.succeeded"}`

// TestSet checks Set's paths and values, and that it leaves every other
// member as it was, in its place, with its literal.
func TestSet(t *testing.T) {
	tests := []struct {
		path string
		v    any
		want string // setBase with this replacement: old => new
	}{
		{"data.object.amount", 5000, `"amount":100 => "amount":5000`},
		{"data.object.customer", "cus_X", `"customer":null => "customer":"cus_X"`},
		{"account", "acct_1", `"account":null => "account":"acct_1"`},
		{"livemode", true, `"type":"charge.succeeded"} => "type":"charge.succeeded","livemode":true}`},
		{"data.object.metadata.order_id", "42", `"metadata":{} => "metadata":{"order_id":"42"}`},
		{"data.object.metadata.0", "zero", `"metadata":{} => "metadata":{"0":"zero"}`},
		{"data.object.refunds.data[0].amount", 20, `"amount":10} => "amount":20}`},
		{"data.object.refunds.data.0.amount", 30, `"amount":10} => "amount":30}`},
		{"data.object.refunds.data[1]", map[string]any{"id": "re_2"}, `{"id":"re_1","amount":10}] => {"id":"re_1","amount":10},{"id":"re_2"}]`},
		{"data.object.customer.id", "cus_Y", `"customer":null => "customer":{"id":"cus_Y"}`},
		{"data.object.shipping.address.city", "Paris", `"note":"a\u00e9<b>"} => "note":"a\u00e9<b>","shipping":{"address":{"city":"Paris"}}}`},
		{"data.object.amount", nil, `"amount":100 => "amount":null`},
		{"data.object.metadata", json.RawMessage(`{"raw": [1, 2.50]}`), `"metadata":{} => "metadata":{"raw":[1,2.50]}`},
		{"data.object.note", "<&>", `"note":"a\u00e9<b>" => "note":"<&>"`},
		{"data.previous_attributes", map[string]any{"amount": 50}, `}},"type" => },"previous_attributes":{"amount":50}},"type"`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			e := eventFrom(t, setBase)
			if got := e.Set(tt.path, tt.v); got != e {
				t.Fatal("Set does not return its Event")
			}
			old, repl, _ := strings.Cut(tt.want, " => ")
			var base bytes.Buffer
			json.Compact(&base, []byte(setBase))
			want := strings.Replace(base.String(), old, repl, 1)
			if got := compactJSON(t, e); got != want {
				t.Errorf("Set(%q, %v):\n got %s\nwant %s", tt.path, tt.v, got, want)
			}
		})
	}
}

// TestSetFailures checks Set's messages, on a test's Event (the test
// fails) and on one from Build (Err).
func TestSetFailures(t *testing.T) {
	tests := []struct {
		path string
		want string
	}{
		{"", `Set(""): empty path`},
		{"data..object", `Set("data..object"): path "data..object" has an empty member name`},
		{"data.object.refunds.data[x]", `bad index in "data[x]"`},
		{"data.object.refunds.data[-1]", `bad index`},
		{"data.object.amount.value", `Set("data.object.amount.value") on charge.succeeded evt_1: data.object.amount is a number, not an object`},
		{"data.object.refunds.data[5]", `data.object.refunds.data has 1 elements: no index 5`},
		{"data.object.refunds.data.id", `data.object.refunds.data is an array: want an index, not "id"`},
		{"data.object.metadata[0]", `data.object.metadata is an object, not an array`},
		{"data.object.customer[0]", `data.object.customer is null, not an array`},
		{"type.x", `type is a string, not an object`},
	}
	for _, tt := range tests {
		msg := fatal(t, func(tb testing.TB) {
			e := eventFrom(t, setBase)
			e.tb = tb
			e.Set(tt.path, 1)
		})
		if !strings.Contains(msg, tt.want) {
			t.Errorf("Set(%q) failed with %q, want %q", tt.path, msg, tt.want)
		}
		e := eventFrom(t, setBase)
		e.tb = nil
		before := compactJSON(t, e)
		e.Set(tt.path, 1).Set("data.object.amount", 7)
		if e.Err() == nil || !strings.Contains(e.Err().Error(), tt.want) {
			t.Errorf("Err after Set(%q) = %v, want %q", tt.path, e.Err(), tt.want)
		}
		if after := compactJSON(t, e); after != strings.Replace(before, `"amount":100`, `"amount":7`, 1) {
			t.Errorf("Set(%q) changed the event although it failed: %s", tt.path, after)
		}
	}
	msg := fatal(t, func(tb testing.TB) {
		e := eventFrom(t, setBase)
		e.tb = tb
		e.Set("data.object.amount", func() {})
	})
	if !strings.Contains(msg, `Set("data.object.amount"): the value: json: unsupported type: func()`) {
		t.Errorf("unencodable value: %q", msg)
	}
}

// TestGet checks Get.
func TestGet(t *testing.T) {
	e := eventFrom(t, setBase)
	tests := []struct {
		path string
		want any
	}{
		{"id", "evt_1"},
		{"data.object.amount", float64(100)},
		{"data.object.refunds.data[0].id", "re_1"},
		{"data.object.refunds.data.0.amount", float64(10)},
		{"data.object.metadata", map[string]any{}},
		{"account", nil},
		{"data.object.missing", nil},
		{"data.object.refunds.data[3]", nil},
		{"data..x", nil},
	}
	for _, tt := range tests {
		got := e.Get(tt.path)
		if gb, _ := json.Marshal(got); string(gb) != mustJSON(tt.want) {
			t.Errorf("Get(%q) = %#v, want %#v", tt.path, got, tt.want)
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestEdit checks that Edit writes what the typed change changed, and
// only that.
func TestEdit(t *testing.T) {
	const obj = `{"id":"ch_1","object":"charge","amount":100,"amount_captured":0,"currency":"usd","customer":"cus_1",` +
		`"paid":true,"future_field":{"x":[1,2]},"metadata":{"a":"1"},"billing_details":{"email":null,"name":"Jenny"},` +
		`"refunds":{"object":"list","data":[{"id":"re_1","object":"refund","amount":10,"charge":"ch_1"}],"has_more":false},` +
		`"source":null,"outcome":{"network_status":"approved_by_network","risk_score":32}}`
	tests := []struct {
		name   string
		edit   func(c *stripe.Charge)
		old    []string // members of obj replaced, in order, by those of new
		new    []string
		absent string // a member that must not be there
	}{
		{"scalars", func(c *stripe.Charge) { c.Amount = 5000; c.Paid = false; c.Currency = "eur" },
			[]string{`"amount":100`, `"currency":"usd"`, `"paid":true`}, []string{`"amount":5000`, `"currency":"eur"`, `"paid":false`}, ""},
		{"an id stays an id", func(c *stripe.Charge) { c.Customer = &stripe.Customer{ID: "cus_X"} },
			[]string{`"customer":"cus_1"`}, []string{`"customer":"cus_X"`}, ""},
		{"a reference removed", func(c *stripe.Charge) { c.Customer = nil },
			[]string{`"customer":"cus_1"`}, []string{`"customer":null`}, ""},
		{"nested", func(c *stripe.Charge) { c.BillingDetails.Email = "j@example.com"; c.Metadata["b"] = "2" },
			[]string{`"metadata":{"a":"1"}`, `"email":null`}, []string{`"metadata":{"a":"1","b":"2"}`, `"email":"j@example.com"`}, ""},
		{"in a list", func(c *stripe.Charge) { c.Refunds.Data[0].Amount = 20 },
			[]string{`"amount":10,`}, []string{`"amount":20,`}, ""},
		{"a list shrunk", func(c *stripe.Charge) { c.Refunds.Data = c.Refunds.Data[:0] },
			[]string{`"data":[{"id":"re_1","object":"refund","amount":10,"charge":"ch_1"}]`}, []string{`"data":[]`}, ""},
		{"a list grown", func(c *stripe.Charge) {
			c.Refunds.Data = append(c.Refunds.Data, &stripe.Refund{ID: "re_2", Amount: 5, Charge: &stripe.Charge{ID: "ch_1"}})
		}, []string{`"charge":"ch_1"}]`}, []string{`"charge":"ch_1"},{"amount":5,"charge":"ch_1","id":"re_2"}]`}, ""},
		{"a new member", func(c *stripe.Charge) { c.ReceiptEmail = "r@example.com" },
			[]string{`"outcome":{"network_status":"approved_by_network","risk_score":32}}`}, []string{`"outcome":{"network_status":"approved_by_network","risk_score":32},"receipt_email":"r@example.com"}`}, ""},
		{"nothing", func(c *stripe.Charge) {}, nil, nil, `"amount_refunded"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := eventFrom(t, `{"id":"evt_1","type":"charge.succeeded","data":{"object":`+obj+`}}`)
			if got := Edit(e, tt.edit); got != e {
				t.Fatal("Edit does not return its Event")
			}
			want := `{"id":"evt_1","type":"charge.succeeded","data":{"object":` + obj + `}}`
			for i := range tt.old {
				if !strings.Contains(want, tt.old[i]) {
					t.Fatalf("bad test: %s not in the object", tt.old[i])
				}
				want = strings.Replace(want, tt.old[i], tt.new[i], 1)
			}
			got := compactJSON(t, e)
			if got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
			if tt.absent != "" && strings.Contains(got, tt.absent) {
				t.Errorf("%s added", tt.absent)
			}
		})
	}
}

// TestEditFailures checks Edit's messages.
func TestEditFailures(t *testing.T) {
	msg := fatal(t, func(tb testing.TB) {
		e := eventFrom(t, `{"id":"evt_1","type":"charge.succeeded","data":{"object":"ch_1"}}`)
		e.tb = tb
		Edit(e, func(c *stripe.Charge) {})
	})
	if want := "dispatchtest: Edit(*stripe.Charge) on charge.succeeded evt_1: data.object is not an object"; msg != want {
		t.Errorf("got %q, want %q", msg, want)
	}
	e := eventFrom(t, `{"id":"evt_1","type":"charge.succeeded","data":{"object":{"id":"ch_1","amount":"lots"}}}`)
	e.tb = nil
	Edit(e, func(c *stripe.Charge) { c.Amount = 1 })
	if err := e.Err(); err == nil || !strings.Contains(err.Error(), "data.object does not decode into *stripe.Charge") {
		t.Errorf("Err = %v", err)
	}
}
