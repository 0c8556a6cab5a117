package main

// exception overrides the naming rule for the events it matches.
type exception struct {
	// Match is either an exact event type ("application_fee.refund.updated")
	// or an object path followed by ".*" ("customer.source.*"), which matches
	// every event whose object path (the type minus its final action segment)
	// is exactly that path.
	Match string
	// Types are the stripe struct type names data.object can be decoded into,
	// canonical one first. Each must exist in package stripe.
	Types []string
	// Untyped marks entries for which stripe-go v76 has no struct type
	// matching the payload; Types is then empty and handlers of these events
	// take no typed object (they read h.Event.Data.Raw), since a look-alike
	// type would silently drop fields.
	Untyped bool
	// Why explains the entry; it is printed by eventgen -v.
	Why string
}

// exceptions lists the events the naming rule maps wrongly, or that carry one
// of several object kinds. Sources: Stripe API reference, "Types of events"
// (https://docs.stripe.com/api/events/types), which states the data.object of
// every event type, and stripe-go v76's own types.
//
// eventgen fails if an entry matches no event type, if an event matches more
// than one entry, or if an entry names a type that package stripe lacks.
var exceptions = []exception{
	{
		// The rule finds the union type AccountExternalAccount; add the
		// concrete kinds. (Stripe also lists legacy alipay_account,
		// bitcoin_receiver and blockchain_address objects, which stripe-go
		// does not model.)
		Match: "account.external_account.*",
		Types: []string{"AccountExternalAccount", "BankAccount", "Card"},
		Why:   "data.object is an external account: a card or a bank account",
	},
	{
		// The rule would pick Source only. PaymentSource is stripe-go's union
		// that decodes any of the three by their "object" field, so it is the
		// canonical type.
		Match: "customer.source.*",
		Types: []string{"PaymentSource", "Card", "BankAccount", "Source"},
		Why:   "data.object is a customer payment source: a card, a bank account or a source",
	},
	{
		// The rule would drop "ApplicationFee" and pick Refund, but an
		// application fee's refund is a fee_refund object, not a refund.
		Match: "application_fee.refund.updated",
		Types: []string{"FeeRefund"},
		Why:   "data.object is a fee_refund",
	},
	{
		// data.object is a source_mandate_notification, which stripe-go v76
		// does not model.
		Match:   "source.mandate_notification",
		Untyped: true,
		Why:     "data.object is a source_mandate_notification (no stripe-go v76 type)",
	},
	{
		// Legacy Orders API (object "order"), removed from stripe-go; the
		// constant remains.
		Match:   "order.created",
		Untyped: true,
		Why:     "legacy order object (no stripe-go v76 type)",
	},
	{
		// Legacy Recipients API (object "recipient"), replaced by Connect
		// accounts (a recipient's migrated_to is an account ID).
		Match:   "recipient.*",
		Untyped: true,
		Why:     "legacy recipient object (no stripe-go v76 type); recipients migrated to accounts",
	},
	{
		// Legacy SKU object (object "sku"), superseded by prices; Stripe
		// made SKUs usable as prices.
		Match:   "sku.*",
		Untyped: true,
		Why:     "legacy sku object (no stripe-go v76 type); SKUs were superseded by prices",
	},
}
