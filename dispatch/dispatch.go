// Package dispatch calls the method of a Handler type named after a Stripe
// event's type, with data.object decoded into the method's stripe-go type.
//
// New reflects on the Handler type once, checks every method with precise
// errors and builds a table from event type to method; Decode and Run then
// serve each event with one map look-up and one decode of data.object.
// Package dispatch knows events, reflection and the Env; it knows nothing of
// HTTP, authentication or where secrets come from.
//
// # Handler contract
//
// The Handler is a struct that embeds Env by value. Its methods, with a
// pointer or value receiver, are:
//
//	func (h *Handler) ChargeSucceeded(ctx context.Context, c *stripe.Charge) error // data.object decoded
//	func (h *Handler) InvoicePaid(ctx context.Context) error                       // envelope only: h.Event
//	func (h *Handler) Default(ctx context.Context) error // optional: every event without a method
//	func (h *Handler) Init(ctx context.Context) error    // optional: once per cold start
//	func (h Handler) ExtraEventTypes() []string          // optional: event types stripe-go v76 does not know
//
// A method's name is the name of stripe-go v76's EventType constant without
// its "EventType" prefix (see MethodName). Any exported method of the shape
// func(ctx) error or func(ctx, *T) error whose name is not an event type is a
// start-up error, with the nearest event type suggested.
package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	"github.com/stripe/stripe-go/v76"
)

//go:generate go run ./internal/eventgen -o eventtypes_gen.go

// stripePkgPath is the import path of the types a method may take.
const stripePkgPath = "github.com/stripe/stripe-go/v76"

// Reserved method names.
const (
	initMethod    = "Init"
	defaultMethod = "Default"
	extraMethod   = "ExtraEventTypes"
)

var (
	contextType = reflect.TypeFor[context.Context]()
	errorType   = reflect.TypeFor[error]()
)

// knownByType indexes the generated table of stripe-go's event types.
var knownByType = func() map[stripe.EventType]*knownEvent {
	m := make(map[stripe.EventType]*knownEvent, len(knownEvents))
	for i := range knownEvents {
		m[knownEvents[i].Type] = &knownEvents[i]
	}
	return m
}()

// Option configures a Dispatcher.
type Option func(*Dispatcher)

// StrictAPIVersion makes Decode reject, with ErrAPIVersion, events whose
// api_version is set and differs from stripe.APIVersion. By default such
// events are dispatched, with one warning logged per version.
func StrictAPIVersion(strict bool) Option { return func(d *Dispatcher) { d.strict = strict } }

// WithLogger sets the logger for the dispatcher's own warnings.
func WithLogger(l *slog.Logger) Option { return func(d *Dispatcher) { d.log = l } }

// Dispatcher routes events to the methods of one Handler type. It is safe
// for concurrent use once Init has returned.
type Dispatcher struct {
	typeName string
	routes   map[stripe.EventType]*route // event type -> method
	fallback *route                      // Default, or nil
	types    []string                    // event types with a method, sorted

	newHandler func() (recv any, env *Env) // a fresh copy of the prototype
	init       func(ctx context.Context, env Env) error

	strict bool
	log    *slog.Logger
	warned sync.Map // API versions already warned about
}

// route is one handler method, bound at start-up.
type route struct {
	method string
	object reflect.Type // struct type of the typed argument; nil for envelope-only
	// decode returns a new *object decoded from data.object.
	decode func(raw []byte) (any, error)
	// decodeEvent decodes a whole body, the object as *object, in one pass;
	// nil for types outside the generated table.
	decodeEvent func(body []byte) (*typedEvent, error)
	// envelope calls an envelope-only method directly, without reflection.
	envelope func(ctx context.Context, recv any) error
	// typed is the method value of a typed method, called by reflection:
	// its argument type is only known at run time.
	typed reflect.Value
	// kinds are the values of data.object's "object" field that object
	// holds (see objectKinds); nil when unknown, which checks nothing.
	kinds []string
	// kindField is the index of object's Object field; nil when it has
	// none, and the kind is read from data.object's bytes.
	kindField []int
}

// checkKind reports, wrapping ErrDecodeObject, a data.object that names a
// kind of object the method's type does not hold: an invoice under
// charge.succeeded, a bank_account for a method taking *stripe.Card. A
// data.object that names no kind is let through.
func (r *route) checkKind(obj any, raw []byte) error {
	if len(r.kinds) == 0 {
		return nil
	}
	var kind string
	if r.kindField != nil {
		kind = reflect.ValueOf(obj).Elem().FieldByIndex(r.kindField).String()
	} else {
		var k struct {
			Object string `json:"object"`
		}
		if err := json.Unmarshal(raw, &k); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrDecodeObject, r.object, err)
		}
		kind = k.Object
	}
	if kind == "" || slices.Contains(r.kinds, kind) {
		return nil
	}
	return fmt.Errorf("%w: data.object is a %q, which *%s does not hold (it holds %s); take the envelope (func(ctx) error) or use Default for events whose object can be of several kinds",
		ErrDecodeObject, kind, r.object, strings.Join(r.kinds, ", "))
}

// call runs the route's method on recv.
func (r *route) call(ctx context.Context, recv any, obj reflect.Value) error {
	if r.envelope != nil {
		return r.envelope(ctx, recv)
	}
	out := r.typed.Call([]reflect.Value{reflect.ValueOf(recv), reflect.ValueOf(&ctx).Elem(), obj})
	if out[0].IsNil() {
		return nil
	}
	return out[0].Interface().(error)
}

// EnvCarrier is implemented by a pointer to any struct that embeds Env. It is
// the constraint New puts on the Handler's pointer type; its method is
// unexported, so only embedding Env satisfies it.
type EnvCarrier interface{ env() *Env }

// New validates the methods of type H and returns a Dispatcher that runs them
// on copies of proto. All problems are reported together, each a
// *MethodError; see the package documentation for the contract.
func New[H any, P interface {
	*H
	EnvCarrier
}](proto H, opts ...Option) (*Dispatcher, error) {
	ht := reflect.TypeFor[H]()
	if err := checkEmbedsEnv(ht); err != nil {
		return nil, err
	}
	p := new(H)
	*p = proto
	d := &Dispatcher{
		typeName: ht.String(),
		routes:   make(map[stripe.EventType]*route),
		newHandler: func() (any, *Env) {
			h := new(H)
			*h = *p
			return h, P(h).env()
		},
		log: slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(d)
	}

	b := builder{d: d, pt: reflect.TypeFor[P](), direct: func(fn reflect.Value) func(context.Context, any) error {
		f := fn.Interface().(func(P, context.Context) error)
		return func(ctx context.Context, recv any) error { return f(recv.(P), ctx) }
	}}
	b.extraTypes(p)
	b.methods()
	slices.Sort(d.types)
	if err := b.err(); err != nil {
		return nil, err
	}
	if m, ok := b.pt.MethodByName(initMethod); ok {
		initFn := m.Func.Interface().(func(P, context.Context) error)
		d.init = func(ctx context.Context, env Env) (err error) {
			// Init runs on a copy, which replaces the prototype only if
			// it succeeds: a failed Init leaves nothing behind for the
			// retry to find.
			q := new(H)
			*q = *p
			*P(q).env() = env
			defer func() {
				if v := recover(); v != nil {
					err = &PanicError{Method: initMethod, Value: v, Stack: debug.Stack()}
				}
			}()
			if err := initFn(q, ctx); err != nil {
				return err
			}
			*P(q).env() = Env{}
			*p = *q
			return nil
		}
	}
	return d, nil
}

func checkEmbedsEnv(ht reflect.Type) error {
	if ht.Kind() == reflect.Struct {
		for i := range ht.NumField() {
			if f := ht.Field(i); f.Anonymous && f.Type == reflect.TypeFor[Env]() {
				return nil
			}
		}
	}
	return fmt.Errorf("dispatch: %s: %w: declare it as struct { dispatch.Env; ... } (embedded by value, not by pointer)", ht, ErrHandlerType)
}

// builder collects the routes and every start-up error.
type builder struct {
	d      *Dispatcher
	pt     reflect.Type // *H
	direct func(fn reflect.Value) func(ctx context.Context, recv any) error
	byName map[string]stripe.EventType // method name -> event type
	extra  map[stripe.EventType]bool
	errs   []error
}

func (b *builder) fail(method string, sentinel error, format string, args ...any) {
	b.errs = append(b.errs, &MethodError{Type: b.d.typeName, Method: method, Err: sentinel, Detail: fmt.Sprintf(format, args...)})
}

func (b *builder) err() error {
	if len(b.errs) == 0 {
		return nil
	}
	return fmt.Errorf("dispatch: %d problem(s) with %s:\n%w", len(b.errs), b.d.typeName, errors.Join(b.errs...))
}

// extraTypes reads ExtraEventTypes, if declared, and builds the name table.
func (b *builder) extraTypes(proto any) {
	b.byName = make(map[string]stripe.EventType, len(knownEvents))
	b.extra = make(map[stripe.EventType]bool)
	for i := range knownEvents {
		b.byName[knownEvents[i].Method] = knownEvents[i].Type
	}
	m, ok := b.pt.MethodByName(extraMethod)
	if !ok {
		return
	}
	if m.Type.NumIn() != 1 || m.Type.NumOut() != 1 || m.Type.Out(0) != reflect.TypeFor[[]string]() {
		b.fail(extraMethod, ErrShape, "want func (h Handler) %s() []string, have %s", extraMethod, signature(m))
		return
	}
	list := m.Func.Call([]reflect.Value{reflect.ValueOf(proto)})[0].Interface().([]string)
	for _, t := range list {
		et := stripe.EventType(t)
		switch {
		case !validEventType(t):
			b.fail(extraMethod, ErrEventType, "%q is not an event type: want dot-separated lower-case words, like \"billing.alert.triggered\"", t)
		case knownByType[et] != nil:
			b.fail(extraMethod, ErrEventType, "%q is already known to stripe-go v76: remove it from %s", t, extraMethod)
		case b.extra[et]:
			b.fail(extraMethod, ErrEventType, "%q is listed twice", t)
		default:
			name := camelCase(t)
			if other, dup := b.byName[name]; dup {
				b.fail(name, ErrDuplicate, "event types %q and %q both map to method %s", other, t, name)
				continue
			}
			b.byName[name] = et
			b.extra[et] = true
		}
	}
}

func validEventType(t string) bool {
	if t == "" || t[0] == '.' || t[len(t)-1] == '.' || strings.Contains(t, "..") || !strings.Contains(t, ".") {
		return false
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_') {
			return false
		}
	}
	return true
}

// methods binds every exported method of *H.
func (b *builder) methods() {
	for i := range b.pt.NumMethod() {
		m := b.pt.Method(i)
		switch m.Name {
		case extraMethod:
			continue
		case initMethod, defaultMethod:
			if !isShape(m.Type, 1) {
				b.fail(m.Name, ErrShape, "want func (h *Handler) %s(ctx context.Context) error, have %s", m.Name, signature(m))
				continue
			}
			if m.Name == defaultMethod {
				b.d.fallback = b.bind(m, nil)
			}
			continue
		}
		et, isEvent := b.byName[m.Name]
		handlerLike := isShape(m.Type, 1) || isShape(m.Type, 2)
		switch {
		case !isEvent && handlerLike:
			b.unknown(m)
		case !isEvent:
			// Not named after an event and not shaped like a handler: a
			// helper such as Env.IdempotencyKey. Leave it alone.
		case !handlerLike:
			b.fail(m.Name, ErrShape, "a method for %s must be func (h *Handler) %s(ctx context.Context, obj *stripe.T) error or func (h *Handler) %[2]s(ctx context.Context) error, have %s", et, m.Name, signature(m))
		case m.Type.NumIn() == 2:
			b.add(et, b.bind(m, nil))
		default:
			if obj, ok := b.objectType(m, et); ok {
				b.add(et, b.bind(m, obj))
			}
		}
	}
}

func (b *builder) add(et stripe.EventType, r *route) {
	if prev, dup := b.d.routes[et]; dup {
		b.fail(r.method, ErrDuplicate, "%s is already handled by %s", et, prev.method)
		return
	}
	b.d.routes[et] = r
	b.d.types = append(b.d.types, string(et))
}

// unknown reports a handler-shaped method that matches no event type.
func (b *builder) unknown(m reflect.Method) {
	names := make([]string, 0, len(b.byName))
	for n := range b.byName {
		names = append(names, n)
	}
	slices.Sort(names) // deterministic suggestion on ties
	if near, ok := nearest(m.Name, names); ok {
		b.fail(m.Name, ErrUnknownEvent, "did you mean %s (%s)?", near, b.byName[near])
		return
	}
	b.fail(m.Name, ErrUnknownEvent, "no event type is close; if it is an event type stripe-go v76 does not know, list it in %s, or unexport the method if it is a helper", extraMethod)
}

// objectType checks the typed argument of m, the method for et.
func (b *builder) objectType(m reflect.Method, et stripe.EventType) (reflect.Type, bool) {
	arg := m.Type.In(2)
	if arg.Kind() != reflect.Pointer || arg.Elem().Kind() != reflect.Struct || arg.Elem().PkgPath() != stripePkgPath {
		b.fail(m.Name, ErrObjectType, "the second argument must be a pointer to a stripe-go type, like %s; have %s", wantObject(et), arg)
		return nil, false
	}
	switch k := knownByType[et]; {
	case k == nil || slices.Contains(k.Objects, arg.Elem()):
		return arg.Elem(), true
	case len(k.Objects) == 0:
		b.fail(m.Name, ErrObjectType, "stripe-go v76 has no type for the object %s carries: declare func (h *Handler) %s(ctx context.Context) error and decode h.Event.Data.Raw", et, m.Name)
	default:
		b.fail(m.Name, ErrObjectType, "%s carries %s, not %s", et, wantObject(et), arg)
	}
	return nil, false
}

func wantObject(et stripe.EventType) string {
	k := knownByType[et]
	if k == nil || len(k.Objects) == 0 {
		return "*stripe.Charge"
	}
	names := make([]string, len(k.Objects))
	for i, t := range k.Objects {
		names[i] = "*" + t.String()
	}
	return strings.Join(names, " or ")
}

// bind turns method m into a route. obj is the typed argument's struct type,
// nil for envelope-only methods.
func (b *builder) bind(m reflect.Method, obj reflect.Type) *route {
	if obj == nil {
		return &route{method: m.Name, envelope: b.direct(m.Func)}
	}
	decode := objectDecoders[obj]
	if decode == nil { // a stripe-go type the table does not list
		decode = func(raw []byte) (any, error) {
			v := reflect.New(obj).Interface()
			return v, json.Unmarshal(raw, v)
		}
	}
	r := &route{method: m.Name, object: obj, typed: m.Func, decode: decode, decodeEvent: eventDecoders[obj], kinds: objectKinds[obj]}
	if f, ok := obj.FieldByName("Object"); ok && f.Type.Kind() == reflect.String {
		r.kindField = f.Index
	}
	return r
}

// isShape reports whether mt (a method type with its receiver) is
// func(recv, context.Context) error (n == 1) or func(recv, context.Context, X) error (n == 2).
func isShape(mt reflect.Type, n int) bool {
	return mt.NumIn() == n+1 && mt.In(1) == contextType && mt.NumOut() == 1 && mt.Out(0) == errorType && !mt.IsVariadic()
}

func signature(m reflect.Method) string {
	s := m.Type.String() // func(*handler.Handler, context.Context) error
	return "func " + m.Name + strings.TrimPrefix(s, "func")
}

// WarmDecoders decodes a minimal event of each type with a typed method, so
// that encoding/json has built what it caches for those types before the
// first real event. It is worth calling while the start-up waits on the
// network anyway; otherwise the first event does the same work.
func (d *Dispatcher) WarmDecoders() {
	for _, t := range d.types {
		if r := d.routes[stripe.EventType(t)]; r != nil && r.decodeEvent != nil {
			r.decodeEvent([]byte(`{"id":"evt_warm","object":"event","type":"` + t + `","data":{"object":{}}}`))
		}
	}
}

// EventTypes returns the event types that have a method, sorted. Default is
// not counted: see HasDefault.
func (d *Dispatcher) EventTypes() []string { return slices.Clone(d.types) }

// HasDefault reports whether the Handler has a Default method.
func (d *Dispatcher) HasDefault() bool { return d.fallback != nil }

// Init runs the Handler's Init method, if it has one, with env in its Env,
// on a copy of the prototype that every event's copy is made from. When
// Init succeeds the copy becomes the prototype, so fields Init sets are
// carried into every event. When it fails (returns an error or panics) the
// prototype is left as it was, so that calling Init again starts afresh.
// Call Init once, before the first Run; errors wrap ErrInit.
func (d *Dispatcher) Init(ctx context.Context, env Env) error {
	if d.init == nil {
		return nil
	}
	if err := d.init(ctx, env); err != nil {
		return fmt.Errorf("%w: %w", ErrInit, err)
	}
	return nil
}

// Delivery is one decoded event, routed to its method.
type Delivery struct {
	// Event is the decoded envelope, without Data.Object (see Env.Event).
	Event  *stripe.Event
	route  *route
	object any // data.object, when Decode already decoded it
}

// ObjectID returns the id of the event's data.object ("sub_..." for a
// customer.subscription.updated), or "" when it has none.
func (dl *Delivery) ObjectID() string {
	return objectID(dl.Event.Data.Raw)
}

// Method returns the name of the method Run will call: the event's own
// method, "Default", or "" when the event will be ignored.
func (dl *Delivery) Method() string {
	if dl.route == nil {
		return ""
	}
	return dl.route.method
}

// eventHead is the envelope of an event: a stripe.Event without its data,
// and so without stripe-go's EventData decoder, which would decode
// data.object into a map for every event.
type eventHead struct {
	ID              string               `json:"id"`
	Object          string               `json:"object"`
	Account         string               `json:"account"`
	APIVersion      string               `json:"api_version"`
	Created         int64                `json:"created"`
	Livemode        bool                 `json:"livemode"`
	PendingWebhooks int64                `json:"pending_webhooks"`
	Request         *stripe.EventRequest `json:"request"`
	Type            stripe.EventType     `json:"type"`
}

// envelope is an event with data.object kept raw.
type envelope struct {
	eventHead
	Data *struct {
		Object             json.RawMessage `json:"object"`
		PreviousAttributes map[string]any  `json:"previous_attributes"`
	} `json:"data"`
}

// typedEvent is an event decoded in one pass, data.object included.
type typedEvent struct {
	head   eventHead
	prev   map[string]any
	object any // a pointer to the route's object type; nil if data.object was absent or null
}

// typedEnvelope decodes an event whose data.object is a P.
type typedEnvelope[P any] struct {
	eventHead
	Data *struct {
		Object             *P             `json:"object"`
		PreviousAttributes map[string]any `json:"previous_attributes"`
	} `json:"data"`
}

// decodeEvent decodes body with data.object as a P, and returns the object
// converted by conv. The generated eventDecoders call it.
func decodeEvent[P any](body []byte, conv func(*P) any) (*typedEvent, error) {
	var e typedEnvelope[P]
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, err
	}
	t := &typedEvent{head: e.eventHead}
	if e.Data != nil {
		t.prev = e.Data.PreviousAttributes
		if e.Data.Object != nil {
			t.object = conv(e.Data.Object)
		}
	}
	return t, nil
}

// decoded holds everything Decode allocates, in one allocation.
type decoded struct {
	event stripe.Event
	data  stripe.EventData
	dl    Delivery
}

// Decode parses an event body and finds its method. Errors wrap
// ErrMalformed, ErrNotEvent or ErrAPIVersion; with ErrAPIVersion the
// returned Delivery is set, for logging. The Delivery refers to body, which
// must not be modified afterwards.
//
// For an event with a typed method, envelope and data.object are decoded in
// one pass, found by a quick scan for the type (see locate); Run then only
// calls the method. Anything else, including every malformed body, takes
// the general path, which decodes the envelope here and data.object in Run.
func (d *Dispatcher) Decode(body []byte) (*Delivery, error) {
	if typ, raw, ok := locate(body); ok {
		if r := d.routes[stripe.EventType(typ)]; r != nil && r.decodeEvent != nil {
			if t, err := r.decodeEvent(body); err == nil && string(t.head.Type) == string(typ) && t.object != nil {
				return d.finish(&t.head, raw, t.prev, r, t.object)
			}
		}
	}
	var e envelope
	if err := json.Unmarshal(body, &e); err != nil {
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
			return nil, fmt.Errorf("%w: field %q has the wrong type", ErrNotEvent, te.Field)
		}
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if e.Data == nil {
		return nil, fmt.Errorf("%w: no data", ErrNotEvent)
	}
	r := d.routes[e.Type]
	if r == nil {
		r = d.fallback
	}
	return d.finish(&e.eventHead, e.Data.Object, e.Data.PreviousAttributes, r, nil)
}

// Route finds the method of an event that is already decoded, one read
// from Stripe's Events API by stripe-go, say, and checks it as Decode
// checks a body. e.Data.Raw must hold the bytes of data.object, as
// stripe-go's decoding leaves them. The Delivery holds a copy of the
// envelope without Data.Object, which Run fills only for the methods that
// read it (see Env.Event); e itself is not modified. Errors wrap
// ErrNotEvent or ErrAPIVersion, as Decode's do.
func (d *Dispatcher) Route(e *stripe.Event) (*Delivery, error) {
	if e == nil || e.Data == nil {
		return nil, fmt.Errorf("%w: no data", ErrNotEvent)
	}
	head := eventHead{
		ID: e.ID, Object: e.Object, Account: e.Account, APIVersion: e.APIVersion,
		Created: e.Created, Livemode: e.Livemode, PendingWebhooks: e.PendingWebhooks,
		Request: e.Request, Type: e.Type,
	}
	r := d.routes[e.Type]
	if r == nil {
		r = d.fallback
	}
	return d.finish(&head, e.Data.Raw, e.Data.PreviousAttributes, r, nil)
}

// finish checks a decoded envelope and builds its Delivery.
func (d *Dispatcher) finish(e *eventHead, raw []byte, prev map[string]any, r *route, obj any) (*Delivery, error) {
	switch {
	case e.Object != "" && e.Object != "event":
		return nil, fmt.Errorf("%w: object is %q", ErrNotEvent, e.Object)
	case e.ID == "":
		return nil, fmt.Errorf("%w: no id", ErrNotEvent)
	case e.Type == "":
		return nil, fmt.Errorf("%w: no type", ErrNotEvent)
	case len(raw) == 0 || raw[0] != '{':
		return nil, fmt.Errorf("%w: data.object is not a JSON object", ErrNotEvent)
	}
	x := new(decoded)
	x.data = stripe.EventData{Raw: raw, PreviousAttributes: prev}
	x.event = stripe.Event{
		ID: e.ID, Object: e.Object, Account: e.Account, APIVersion: e.APIVersion,
		Created: e.Created, Livemode: e.Livemode, PendingWebhooks: e.PendingWebhooks,
		Request: e.Request, Type: e.Type, Data: &x.data,
	}
	x.dl = Delivery{Event: &x.event, route: r, object: obj}
	if v := e.APIVersion; v != "" && v != stripe.APIVersion {
		if d.strict {
			return &x.dl, fmt.Errorf("%w: event has %s, stripe-go v76 has %s", ErrAPIVersion, v, stripe.APIVersion)
		}
		if _, seen := d.warned.LoadOrStore(v, true); !seen {
			d.log.Warn("event API version differs from stripe-go's; objects may decode incompletely. Pin the webhook endpoint's API version (make register does) or set STRICT_API_VERSION=true to refuse such events",
				"event_api_version", v, "stripe_api_version", stripe.APIVersion, "event_id", e.ID)
		}
	}
	return &x.dl, nil
}

// Run calls the Delivery's method on a fresh copy of the Handler whose Env is
// base with Event set and Log extended by the event's id and type and by
// logAttrs (the source's request id, say). It returns nil for ignored
// events; otherwise a *HandlerError, a *PanicError (the panic is
// recovered), an error wrapping ErrDecodeObject, or nil.
func (d *Dispatcher) Run(ctx context.Context, dl *Delivery, base Env, logAttrs ...slog.Attr) (err error) {
	r := dl.route
	if r == nil {
		return nil
	}
	var obj reflect.Value
	if r.object != nil {
		v := dl.object
		if v == nil {
			var err error
			if v, err = r.decode(dl.Event.Data.Raw); err != nil {
				return fmt.Errorf("%w: %s: %v", ErrDecodeObject, r.object, err)
			}
		}
		if err := r.checkKind(v, dl.Event.Data.Raw); err != nil {
			return err
		}
		obj = reflect.ValueOf(v)
	} else if dl.Event.Data.Object == nil {
		if err := json.Unmarshal(dl.Event.Data.Raw, &dl.Event.Data.Object); err != nil {
			return fmt.Errorf("%w: %v", ErrDecodeObject, err)
		}
	}
	recv, env := d.newHandler()
	*env = base
	env.Event = dl.Event
	if env.Log == nil {
		env.Log = d.log
	}
	env.Log = withEventAttrs(env.Log, dl.Event, logAttrs)

	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Method: r.method, Value: v, Stack: debug.Stack()}
		}
	}()
	if err := r.call(ctx, recv, obj); err != nil {
		return &HandlerError{Method: r.method, Err: err}
	}
	return nil
}
