package genstore

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Scopes an app can ask for (CONTRACT.md §1).
const (
	ScopeWritePayment            = "write_payment"
	ScopeReadPaymentsTransaction = "read_payments_transaction"
	ScopeWritePaymentTransaction = "write_payments_transaction"
)

// KnownScopes lists every scope Genstore grants.
var KnownScopes = []string{ScopeWritePayment, ScopeReadPaymentsTransaction, ScopeWritePaymentTransaction}

// Endpoints are the URLs an app registers (CONTRACT.md §2). Any may be empty
// while an app is being set up; Genstore refuses to start an operation whose
// URL is missing, and skips reconciliation without a query URL.
type Endpoints struct {
	OnboardingURL   string `json:"onboardingUrl,omitempty" yaml:"onboardingUrl"`
	PaymentURL      string `json:"paymentUrl,omitempty" yaml:"paymentUrl"`
	CaptureURL      string `json:"captureUrl,omitempty" yaml:"captureUrl"`
	VoidURL         string `json:"voidUrl,omitempty" yaml:"voidUrl"`
	RefundURL       string `json:"refundUrl,omitempty" yaml:"refundUrl"`
	PaymentQueryURL string `json:"paymentQueryUrl,omitempty" yaml:"paymentQueryUrl"`
	RefundQueryURL  string `json:"refundQueryUrl,omitempty" yaml:"refundQueryUrl"`
}

// App is a payment app registered with Genstore.
type App struct {
	ClientID     string    `json:"clientId" yaml:"clientId"`
	ClientSecret string    `json:"clientSecret" yaml:"clientSecret"`
	Name         string    `json:"name" yaml:"name"`
	Scopes       []string  `json:"scopes" yaml:"scopes"`
	Endpoints    Endpoints `json:"endpoints" yaml:"endpoints"`
	// PublicKey is the app's long-term ECIES key: P-256, X.509 SPKI DER, base64.
	PublicKey string    `json:"publicKey,omitempty" yaml:"publicKey"`
	CreatedAt time.Time `json:"createdAt" yaml:"-"`
}

// FeePlan is what Genstore charges a shop per successful payment: a
// percentage in basis points (290 = 2.90 %) plus a fixed part in minor units
// of the payment's currency.
type FeePlan struct {
	PercentBasisPoints int64 `json:"percentBasisPoints" yaml:"percentBasisPoints"`
	FixedMinor         int64 `json:"fixedMinor" yaml:"fixedMinor"`
}

// Fee returns the fee on an amount: the percentage part rounded half up to
// the minor unit, plus the fixed part, never more than the amount itself (a
// fee larger than the payment would make net negative). Integer arithmetic
// only; the split into quotient and remainder keeps amount*bps from
// overflowing for any int64 amount.
func (f FeePlan) Fee(amount int64) int64 {
	if amount <= 0 {
		return 0
	}
	q, r := amount/10000, amount%10000
	fee := q*f.PercentBasisPoints + (r*f.PercentBasisPoints+5000)/10000 + f.FixedMinor
	return min(max(fee, 0), amount)
}

// Shop is a Genstore shop.
type Shop struct {
	ShopID   string `json:"shopId" yaml:"shopId"`
	Handle   string `json:"shop" yaml:"shop"` // the name in https://{shop}.genmystore.com
	Name     string `json:"name" yaml:"name"`
	Currency string `json:"currency" yaml:"currency"`
	// TestMode sends "test": true on every non-query request.
	TestMode bool    `json:"testMode" yaml:"testMode"`
	FeePlan  FeePlan `json:"feePlan" yaml:"feePlan"`
	// Timezone (IANA) in which times are reported (successPaymentTime); UTC when empty.
	Timezone  string    `json:"timezone,omitempty" yaml:"timezone"`
	CreatedAt time.Time `json:"createdAt" yaml:"-"`
}

// Environment is the fault-matching tag of the shop's mode.
func (s Shop) Environment() string {
	if s.TestMode {
		return "sandbox"
	}
	return "live"
}

// Location returns the shop's time zone.
func (s Shop) Location() *time.Location {
	if s.Timezone == "" {
		return time.UTC
	}
	if loc, ok := zones.Load(s.Timezone); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(s.Timezone)
	if err != nil {
		return time.UTC
	}
	zones.Store(s.Timezone, loc)
	return loc
}

// zones caches time zones by IANA name: time.LoadLocation reads the zone
// database on every call (it was most of a pay-transaction query's cost).
// The zones are the system's, the same for every simulator: no state of
// any simulator lives here.
var zones sync.Map

// Installation is an app installed on a shop. Ready follows the app's
// account_authorize callbacks: Genstore sends payments only to a ready one.
type Installation struct {
	ShopID      string     `json:"shopId" yaml:"shopId"`
	ClientID    string     `json:"clientId" yaml:"clientId"`
	AccessToken string     `json:"accessToken" yaml:"accessToken"`
	Scopes      []string   `json:"scopes" yaml:"scopes"`
	Ready       bool       `json:"ready" yaml:"ready"`
	ReadyAt     *time.Time `json:"readyAt,omitempty" yaml:"-"`
	InstalledAt time.Time  `json:"installedAt" yaml:"-"`
}

// HasScope reports whether the installation was granted scope.
func (i Installation) HasScope(scope string) bool { return slices.Contains(i.Scopes, scope) }

func installationKey(shopID, clientID string) string { return shopID + "/" + clientID }

// Token is an access token, as the app presents it in X-Genstore-Access-Token.
type Token struct {
	Token    string    `json:"token"`
	ShopID   string    `json:"shopId"`
	ClientID string    `json:"clientId"`
	Scopes   []string  `json:"scopes"`
	IssuedAt time.Time `json:"issuedAt"`
	// Revoked is set when a later code exchange for the same installation
	// issues a new token.
	Revoked bool `json:"revoked"`
}

// HasScope reports whether the token carries scope.
func (t Token) HasScope(scope string) bool { return slices.Contains(t.Scopes, scope) }

// InstallCode is the one-time code of an installation redirect.
type InstallCode struct {
	Code      string     `json:"code"`
	ShopID    string     `json:"shopId"`
	ClientID  string     `json:"clientId"`
	IssuedAt  time.Time  `json:"issuedAt"`
	ExpiresAt time.Time  `json:"expiresAt"`
	UsedAt    *time.Time `json:"usedAt,omitempty"`
}

// Status is a payment's status as the pay-transaction query reports it
// (seed 001): 1 process, 2 success, 3 auth_void, 4 auth_success, 9 failure.
type Status int

// Payment statuses.
const (
	StatusProcessing  Status = 1
	StatusSuccess     Status = 2
	StatusAuthVoid    Status = 3
	StatusAuthSuccess Status = 4
	StatusFailure     Status = 9
)

// String returns the seed's name of the status.
func (s Status) String() string {
	switch s {
	case StatusProcessing:
		return "process"
	case StatusSuccess:
		return "success"
	case StatusAuthVoid:
		return "auth_void"
	case StatusAuthSuccess:
		return "auth_success"
	case StatusFailure:
		return "failure"
	}
	return fmt.Sprintf("status(%d)", int(s))
}

// Code returns the status as the seed writes it: "1", "2", "3", "4", "9"
// (strconv, not fmt: every pay-transaction answer and journal event asks).
func (s Status) Code() string { return strconv.Itoa(int(s)) }

// OpStatus is where a capture, void or refund stands.
type OpStatus string

// Operation statuses.
const (
	OpProcessing OpStatus = "processing"
	OpSucceeded  OpStatus = "succeeded"
	OpFailed     OpStatus = "failed"
)

// Kinds of requests Genstore sends to an app; also the journal's ids names.
const (
	KindPayment = "payment"
	KindCapture = "capture"
	KindVoid    = "void"
	KindRefund  = "refund"
)

// idName is the id field of each kind: paymentId, captureId, voidId, refundId.
func idName(kind string) string { return kind + "Id" }

// channelIDName is the PSP id field of each kind: channelPaymentId, ...
func channelIDName(kind string) string {
	return "channel" + string(kind[0]-'a'+'A') + kind[1:] + "Id"
}

// Card is what Genstore keeps of a card: enough for the merchant to
// recognise it, never the number or the CVV.
type Card struct {
	Brand       string `json:"brand"`
	Masked      string `json:"masked"`
	ExpiryMonth string `json:"expiryMonth"`
	ExpiryYear  string `json:"expiryYear"`
	// TestCard is the TESTCARDS.md row ("06") when the number is a magic card.
	TestCard string `json:"testCard,omitempty"`
	// Outcome is what the emulated PSPs will do with it ("approved").
	Outcome string `json:"outcome,omitempty"`
}

// Outbound summarises the delivery of one request to the app.
type Outbound struct {
	URL            string     `json:"url"` // as registered, without the signing query
	IdempotencyKey string     `json:"idempotencyKey"`
	State          string     `json:"state"` // pending, delivered, failed, stopped
	Attempts       int        `json:"attempts"`
	LastStatus     int        `json:"lastStatus,omitempty"`
	LastError      string     `json:"lastError,omitempty"`
	FirstAttemptAt *time.Time `json:"firstAttemptAt,omitempty"`
	LastAttemptAt  *time.Time `json:"lastAttemptAt,omitempty"`
}

// Delivery states of Outbound.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
	DeliveryStopped   = "stopped"
	DeliveryNotSent   = "not_sent"
)

// Ack is the app's 200 answer to a request: received, not a result.
type Ack struct {
	ChannelID   string    `json:"channelId,omitempty"`
	Error       string    `json:"error,omitempty"`
	RedirectURL string    `json:"redirectUrl,omitempty"`
	At          time.Time `json:"at"`
	// Malformed explains why the 200 body was not the expected JSON (the
	// request still counts as received).
	Malformed string `json:"malformed,omitempty"`
}

// Result is a final result: from the app's callback, a reconciliation query,
// or Genstore itself (a final 4xx, no acknowledgement, expiry).
type Result struct {
	Result    bool      `json:"result"`
	Reason    string    `json:"reason,omitempty"`
	ChannelID string    `json:"channelId,omitempty"`
	At        time.Time `json:"at"`
	Source    string    `json:"source"`
}

// Sources of a Result.
const (
	SourceCallback       = "callback"
	SourceReconciliation = "reconciliation"
	SourceDelivery       = "delivery" // a final 4xx, or no acknowledgement at all
	SourceExpiry         = "expiry"
	SourceFixture        = "fixture"
)

// Poll is one reconciliation query and what it found.
type Poll struct {
	At        time.Time `json:"at"`
	Status    string    `json:"status,omitempty"` // PROCESSING, SUCCESS, FAILURE, or empty
	ChannelID string    `json:"channelId,omitempty"`
	HTTP      int       `json:"http,omitempty"`
	Error     string    `json:"error,omitempty"`
	Applied   bool      `json:"applied"`
}

// Operation is a capture, void or refund of a payment.
type Operation struct {
	Kind           string    `json:"kind"`
	ID             string    `json:"id"`
	Amount         int64     `json:"amountMinor"`
	Status         OpStatus  `json:"status"`
	CreatedAt      time.Time `json:"createdAt"`
	Request        Outbound  `json:"request"`
	Ack            *Ack      `json:"ack,omitempty"`
	Result         *Result   `json:"result,omitempty"`
	Reconciliation []Poll    `json:"reconciliation,omitempty"`
	DeadlineMissed bool      `json:"deadlineMissed,omitempty"`
}

// Buyer records what the buyer did with a redirectUrl.
type Buyer struct {
	RedirectFetchedAt *time.Time `json:"redirectFetchedAt,omitempty"`
	Challenge         string     `json:"challenge,omitempty"` // submitted, cancelled
	ReturnedAt        *time.Time `json:"returnedAt,omitempty"`
}

// Payment is one payment of a shop, with its captures, voids and refunds.
// They live in one document so that every change to a payment and its
// operations happens under the payment's lock (store.Table.Update): a refund
// limit or a capture-versus-void race cannot be decided on stale data.
type Payment struct {
	ShopID         string      `json:"shopId"`
	PaymentID      string      `json:"paymentId"`
	ClientID       string      `json:"clientId"`
	OutOrderNo     string      `json:"outOrderNo"`
	Amount         int64       `json:"amountMinor"`
	Currency       string      `json:"currency"`
	ManualCapture  bool        `json:"manualCapture"`
	Test           bool        `json:"test"`
	Status         Status      `json:"status"`
	Card           *Card       `json:"card,omitempty"`
	ReturnURL      string      `json:"returnUrl,omitempty"`
	CreatedAt      time.Time   `json:"createdAt"`
	Request        Outbound    `json:"request"`
	Ack            *Ack        `json:"ack,omitempty"`
	Result         *Result     `json:"result,omitempty"`
	SuccessAt      *time.Time  `json:"successAt,omitempty"`
	CapturedMinor  int64       `json:"capturedMinor"`
	RefundedMinor  int64       `json:"refundedMinor"`
	Buyer          Buyer       `json:"buyer"`
	Reconciliation []Poll      `json:"reconciliation,omitempty"`
	DeadlineMissed bool        `json:"deadlineMissed,omitempty"`
	Expired        bool        `json:"expired,omitempty"`
	Operations     []Operation `json:"operations,omitempty"`
	// Fixture marks sample data loaded from fixtures or config.
	Fixture bool `json:"fixture,omitempty"`
}

func paymentKey(shopID, paymentID string) string { return shopID + "/" + paymentID }

func opKey(kind, shopID, id string) string { return kind + "/" + shopID + "/" + id }

// op returns the operation of a kind and id, or nil.
func (p *Payment) op(kind, id string) *Operation {
	for i := range p.Operations {
		if p.Operations[i].Kind == kind && p.Operations[i].ID == id {
			return &p.Operations[i]
		}
	}
	return nil
}

// pending reports whether an operation of kind is still processing.
func (p *Payment) pending(kind string) *Operation {
	for i := range p.Operations {
		if p.Operations[i].Kind == kind && p.Operations[i].Status == OpProcessing {
			return &p.Operations[i]
		}
	}
	return nil
}

// refundable is what may still be refunded: captured, minus refunds that
// succeeded or are still processing (a processing refund may succeed).
func (p *Payment) refundable() int64 {
	left := p.CapturedMinor
	for _, o := range p.Operations {
		if o.Kind == KindRefund && o.Status != OpFailed {
			left -= o.Amount
		}
	}
	return left
}

// channelTrxNo is the PSP's id: from the final result, else from the
// acknowledgement.
func (p *Payment) channelTrxNo() string {
	if p.Result != nil && p.Result.ChannelID != "" {
		return p.Result.ChannelID
	}
	if p.Ack != nil {
		return p.Ack.ChannelID
	}
	return ""
}
