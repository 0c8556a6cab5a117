package dispatch

import (
	"reflect"
	"slices"

	"github.com/stripe/stripe-go/v76"
)

// objectKinds gives, for each stripe-go type that an event's data.object
// decodes into (the types of the generated table), the values of
// data.object's "object" field that type holds. AccountExternalAccount and
// PaymentSource hold several kinds of object; every other type one.
// TestObjectKinds checks the table against the OpenAPI specification that
// stripe-mock serves, and that it covers every type of the generated table.
var objectKinds = map[reflect.Type][]string{
	reflect.TypeFor[stripe.Account]():                        {"account"},
	reflect.TypeFor[stripe.AccountExternalAccount]():         {"bank_account", "card"},
	reflect.TypeFor[stripe.Application]():                    {"application"},
	reflect.TypeFor[stripe.ApplicationFee]():                 {"application_fee"},
	reflect.TypeFor[stripe.Balance]():                        {"balance"},
	reflect.TypeFor[stripe.BankAccount]():                    {"bank_account"},
	reflect.TypeFor[stripe.BillingPortalConfiguration]():     {"billing_portal.configuration"},
	reflect.TypeFor[stripe.BillingPortalSession]():           {"billing_portal.session"},
	reflect.TypeFor[stripe.Capability]():                     {"capability"},
	reflect.TypeFor[stripe.Card]():                           {"card"},
	reflect.TypeFor[stripe.CashBalance]():                    {"cash_balance"},
	reflect.TypeFor[stripe.Charge]():                         {"charge"},
	reflect.TypeFor[stripe.CheckoutSession]():                {"checkout.session"},
	reflect.TypeFor[stripe.ClimateOrder]():                   {"climate.order"},
	reflect.TypeFor[stripe.ClimateProduct]():                 {"climate.product"},
	reflect.TypeFor[stripe.Coupon]():                         {"coupon"},
	reflect.TypeFor[stripe.CreditNote]():                     {"credit_note"},
	reflect.TypeFor[stripe.Customer]():                       {"customer"},
	reflect.TypeFor[stripe.CustomerCashBalanceTransaction](): {"customer_cash_balance_transaction"},
	reflect.TypeFor[stripe.Discount]():                       {"discount"},
	reflect.TypeFor[stripe.Dispute]():                        {"dispute"},
	reflect.TypeFor[stripe.FeeRefund]():                      {"fee_refund"},
	reflect.TypeFor[stripe.File]():                           {"file"},
	reflect.TypeFor[stripe.FinancialConnectionsAccount]():    {"financial_connections.account"},
	reflect.TypeFor[stripe.IdentityVerificationSession]():    {"identity.verification_session"},
	reflect.TypeFor[stripe.Invoice]():                        {"invoice"},
	reflect.TypeFor[stripe.InvoiceItem]():                    {"invoiceitem"},
	reflect.TypeFor[stripe.IssuingAuthorization]():           {"issuing.authorization"},
	reflect.TypeFor[stripe.IssuingCard]():                    {"issuing.card"},
	reflect.TypeFor[stripe.IssuingCardholder]():              {"issuing.cardholder"},
	reflect.TypeFor[stripe.IssuingDispute]():                 {"issuing.dispute"},
	reflect.TypeFor[stripe.IssuingToken]():                   {"issuing.token"},
	reflect.TypeFor[stripe.IssuingTransaction]():             {"issuing.transaction"},
	reflect.TypeFor[stripe.Mandate]():                        {"mandate"},
	reflect.TypeFor[stripe.PaymentIntent]():                  {"payment_intent"},
	reflect.TypeFor[stripe.PaymentLink]():                    {"payment_link"},
	reflect.TypeFor[stripe.PaymentMethod]():                  {"payment_method"},
	reflect.TypeFor[stripe.PaymentSource]():                  {"account", "bank_account", "card", "source"},
	reflect.TypeFor[stripe.Payout]():                         {"payout"},
	reflect.TypeFor[stripe.Person]():                         {"person"},
	reflect.TypeFor[stripe.Plan]():                           {"plan"},
	reflect.TypeFor[stripe.Price]():                          {"price"},
	reflect.TypeFor[stripe.Product]():                        {"product"},
	reflect.TypeFor[stripe.PromotionCode]():                  {"promotion_code"},
	reflect.TypeFor[stripe.Quote]():                          {"quote"},
	reflect.TypeFor[stripe.RadarEarlyFraudWarning]():         {"radar.early_fraud_warning"},
	reflect.TypeFor[stripe.Refund]():                         {"refund"},
	reflect.TypeFor[stripe.ReportingReportRun]():             {"reporting.report_run"},
	reflect.TypeFor[stripe.ReportingReportType]():            {"reporting.report_type"},
	reflect.TypeFor[stripe.Review]():                         {"review"},
	reflect.TypeFor[stripe.SetupIntent]():                    {"setup_intent"},
	reflect.TypeFor[stripe.SigmaScheduledQueryRun]():         {"scheduled_query_run"},
	reflect.TypeFor[stripe.Source]():                         {"source"},
	reflect.TypeFor[stripe.SourceTransaction]():              {"source_transaction"},
	reflect.TypeFor[stripe.Subscription]():                   {"subscription"},
	reflect.TypeFor[stripe.SubscriptionSchedule]():           {"subscription_schedule"},
	reflect.TypeFor[stripe.TaxID]():                          {"tax_id"},
	reflect.TypeFor[stripe.TaxRate]():                        {"tax_rate"},
	reflect.TypeFor[stripe.TaxSettings]():                    {"tax.settings"},
	reflect.TypeFor[stripe.TerminalReader]():                 {"terminal.reader"},
	reflect.TypeFor[stripe.TestHelpersTestClock]():           {"test_helpers.test_clock"},
	reflect.TypeFor[stripe.Topup]():                          {"topup"},
	reflect.TypeFor[stripe.Transfer]():                       {"transfer"},
	reflect.TypeFor[stripe.TreasuryCreditReversal]():         {"treasury.credit_reversal"},
	reflect.TypeFor[stripe.TreasuryDebitReversal]():          {"treasury.debit_reversal"},
	reflect.TypeFor[stripe.TreasuryFinancialAccount]():       {"treasury.financial_account"},
	reflect.TypeFor[stripe.TreasuryInboundTransfer]():        {"treasury.inbound_transfer"},
	reflect.TypeFor[stripe.TreasuryOutboundPayment]():        {"treasury.outbound_payment"},
	reflect.TypeFor[stripe.TreasuryOutboundTransfer]():       {"treasury.outbound_transfer"},
	reflect.TypeFor[stripe.TreasuryReceivedCredit]():         {"treasury.received_credit"},
	reflect.TypeFor[stripe.TreasuryReceivedDebit]():          {"treasury.received_debit"},
}

// ObjectKinds returns the kinds of object an event of type eventType
// carries: the values its data.object's "object" field may take, the one
// the event usually carries first ("charge" for charge.succeeded; "card",
// "bank_account", "source", "account" for customer.source.created). A
// typed method is only ever given an object of a kind its type holds (see
// the README's "Objects of several kinds"). It returns nil for the event
// types stripe-go v76 has no type for (order.created, recipient.*, sku.*,
// source.mandate_notification) and for types it does not know (a Handler's
// ExtraEventTypes). The slice is the caller's.
func ObjectKinds(eventType string) []string {
	k := knownByType[stripe.EventType(eventType)]
	if k == nil {
		return nil
	}
	var kinds []string
	// The kinds of the types of one kind, in the order of the table (the
	// canonical type first), then those only union types such as
	// PaymentSource hold.
	for _, several := range []bool{false, true} {
		for _, t := range k.Objects {
			if ks := objectKinds[t]; (len(ks) > 1) == several {
				for _, kind := range ks {
					if !slices.Contains(kinds, kind) {
						kinds = append(kinds, kind)
					}
				}
			}
		}
	}
	return kinds
}

// KnownEventTypes returns the event types stripe-go v76 declares, sorted:
// all 234, whether or not a Handler has methods for them (see
// Dispatcher.EventTypes for those). The slice is the caller's.
func KnownEventTypes() []string {
	types := make([]string, len(knownEvents))
	for i, k := range knownEvents {
		types[i] = string(k.Type)
	}
	return types
}
