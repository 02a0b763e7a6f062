package pspsimtest

import (
	"encoding/json"
	"time"
)

// The types of this file mirror schemas of specs/admin.yaml, field for
// field where a test reads them; TestClientMatchesAdminSpec fails when a
// field here is not in the spec. Free-form parts stay json.RawMessage or
// maps, as the spec leaves them open.

// Health is GET /_sim/health.
type Health struct {
	Status  string `json:"status"`
	Version string `json:"version"`
	Seed    uint64 `json:"seed"`
	Clock   Clock  `json:"clock"`
}

// Clock is the simulator's time (GET /_sim/clock).
type Clock struct {
	Mode          string    `json:"mode"` // "sim" or "real"
	Now           time.Time `json:"now"`
	PendingTimers int       `json:"pendingTimers"`
}

// ClockMove is the answer to moving the simulated clock.
type ClockMove struct {
	Mode          string    `json:"mode"`
	Now           time.Time `json:"now"`
	Fired         int       `json:"fired"` // timers that ran during the move
	PendingTimers int       `json:"pendingTimers"`
}

type advanceRequest struct {
	By string `json:"by"`
}

type setClockRequest struct {
	To time.Time `json:"to"`
}

// Event is one journal entry.
type Event struct {
	Seq     int64             `json:"seq"`
	Time    time.Time         `json:"time"`
	System  string            `json:"system"`
	Kind    string            `json:"kind"`
	IDs     map[string]string `json:"ids"`
	Message string            `json:"message"`
	Data    map[string]any    `json:"data"`
}

// EventPage is one page of the journal.
type EventPage struct {
	Events  []Event `json:"events"`
	LastSeq int64   `json:"lastSeq"`
	HasMore bool    `json:"hasMore"`
	Next    int64   `json:"next"` // pass as EventQuery.After for what follows
}

// EventQuery filters the journal (GET /_sim/events). Zero fields do not
// filter.
type EventQuery struct {
	System    string // genstore, codepay, vmgateway, threeds, faults, sim
	Kind      string // exact, or a prefix ending at a dot: "delivery"
	ID        string // events about this id, whatever its name
	ShopID    string
	PaymentID string
	After     int64 // only events with a larger sequence number
	Limit     int
}

// FaultRule is a fault rule to add (the rules format of README, Faults).
// Action is an action name ("reset") or an object ({"type": "status",
// "status": 503}); Match and Frequency are the spec's objects.
type FaultRule struct {
	ID          string         `json:"id,omitempty"`
	Description string         `json:"description,omitempty"`
	Match       map[string]any `json:"match,omitempty"`
	Action      any            `json:"action"`
	Frequency   map[string]any `json:"frequency,omitempty"`
	After       string         `json:"after,omitempty"`
	For         string         `json:"for,omitempty"`
}

// FaultStatus is an installed rule and how often it matched and fired.
type FaultStatus struct {
	ID      string         `json:"id"`
	Source  string         `json:"source"` // api, file, config, magic
	Match   map[string]any `json:"match"`
	Action  map[string]any `json:"action"`
	Does    string         `json:"does"`
	Active  bool           `json:"active"`
	Matched int64          `json:"matched"`
	Hits    int64          `json:"hits"`
}

type faultList struct {
	Rules []FaultStatus `json:"rules"`
}

type cleared struct {
	Cleared int `json:"cleared"`
}

// Canary is a watched card number, masked, with its sightings.
type Canary struct {
	Masked    string    `json:"masked"`
	Label     string    `json:"label"`
	CreatedAt time.Time `json:"createdAt"`
	Sightings int       `json:"sightings"`
}

type canaryRequest struct {
	Numbers []string `json:"numbers"`
	Label   string   `json:"label,omitempty"`
}

type canaryList struct {
	Canaries []Canary `json:"canaries"`
}

// Card is a card the buyer pays with at Genstore's checkout.
type Card struct {
	Number      string `json:"number"`
	ExpiryMonth string `json:"expiryMonth,omitempty"`
	ExpiryYear  string `json:"expiryYear,omitempty"`
	CVV         string `json:"cvv,omitempty"`
	HolderName  string `json:"holderName,omitempty"`
}

// PaymentRequest is a buyer's checkout at a Genstore shop: Genstore then
// sends the Payment Object to the app. Amount is decimal text ("12.34").
type PaymentRequest struct {
	ClientID      string `json:"clientId,omitempty"`
	Amount        string `json:"amount"`
	Currency      string `json:"currency,omitempty"`
	ManualCapture bool   `json:"manualCapture,omitempty"`
	Card          *Card  `json:"card,omitempty"`
	OutOrderNo    string `json:"outOrderNo,omitempty"`
	ReturnURL     string `json:"returnUrl,omitempty"`
}

// Payment is a Genstore payment as the merchant sees it.
type Payment struct {
	ShopID         string          `json:"shopId"`
	PaymentID      string          `json:"paymentId"`
	ClientID       string          `json:"clientId"`
	OutOrderNo     string          `json:"outOrderNo"`
	Amount         string          `json:"amount"`
	Currency       string          `json:"currency"`
	ManualCapture  bool            `json:"manualCapture"`
	Test           bool            `json:"test"`
	Status         string          `json:"status"`     // 1 process, 2 success, 3 auth_void, 4 auth_success, 9 failure
	StatusName     string          `json:"statusName"` // process, success, auth_void, auth_success, failure
	ChannelTrxNo   string          `json:"channelTrxNo"`
	Captured       string          `json:"captured"`
	Refunded       string          `json:"refunded"`
	Refundable     string          `json:"refundable"`
	DeadlineMissed bool            `json:"deadlineMissed"`
	Result         *PaymentResult  `json:"result"`
	Operations     []Operation     `json:"operations"`
	Request        json.RawMessage `json:"request"` // what Genstore sent the app, and the attempts
}

// PaymentResult is the final result Genstore recorded and where it came
// from (callback, reconciliation, delivery, expiry, fixture).
type PaymentResult struct {
	Result    bool      `json:"result"`
	Reason    string    `json:"reason"`
	ChannelID string    `json:"channelId"`
	At        time.Time `json:"at"`
	Source    string    `json:"source"`
}

// Operation is a capture, void or refund the merchant asked for.
type Operation struct {
	Kind           string         `json:"kind"` // capture, void, refund
	ID             string         `json:"id"`
	Amount         string         `json:"amount"`
	Status         string         `json:"status"` // processing, succeeded, failed
	Result         *PaymentResult `json:"result"`
	DeadlineMissed bool           `json:"deadlineMissed"`
}

type operationRequest struct {
	Amount string `json:"amount,omitempty"`
}

// OperationResult is the answer to a capture, void or refund.
type OperationResult struct {
	Operation Operation `json:"operation"`
	Payment   Payment   `json:"payment"`
}

// Page is where the buyer's browser ended after opening a URL.
type Page struct {
	Status    int      `json:"status"`
	URL       string   `json:"url"`
	Redirects []string `json:"redirects"`
	Title     string   `json:"title"`
	Challenge bool     `json:"challenge"` // the page is a 3-D Secure challenge
}

type challengeRequest struct {
	OTP    string `json:"otp,omitempty"`
	Action string `json:"action,omitempty"`
}

// ChallengeResult is the answer to the buyer completing a challenge.
type ChallengeResult struct {
	Action   string `json:"action"`
	Location string `json:"location"`
	Returned bool   `json:"returned"`
	Status   string `json:"status"` // the payment's status afterwards
}

// TerminalAction is what is done on a CodePay terminal, by action: Card
// for "card", TipAmount for "tip", Wallet and Decline for "wallet". TransNo
// acts only if that order is on screen.
type TerminalAction struct {
	TransNo   string `json:"trans_no,omitempty"`
	TipAmount string `json:"tip_amount,omitempty"`
	Card      string `json:"card,omitempty"`
	Wallet    string `json:"wallet,omitempty"`
	Decline   bool   `json:"decline,omitempty"`
}

// Terminal is a virtual CodePay POS terminal.
type Terminal struct {
	SN     string   `json:"sn"`
	Online bool     `json:"online"`
	Screen *Screen  `json:"screen"` // the order on screen, if any
	Queue  []Screen `json:"queue"`
}

// Screen is an order a terminal shows.
type Screen struct {
	TransNo         string `json:"trans_no"`
	MerchantOrderNo string `json:"merchant_order_no"`
	MerchantNo      string `json:"merchant_no"`
	TransStatus     int    `json:"trans_status"`
	Step            string `json:"step"` // confirm, approval, tip, payment, signature, host, execute
	PriceCurrency   string `json:"price_currency"`
	OrderAmount     string `json:"order_amount"`
	TransAmount     string `json:"trans_amount"`
	Environment     string `json:"environment"`
}

// App registers a payment app with Genstore (its endpoints are the URLs
// Genstore sends payments, captures, voids, refunds and queries to).
type App struct {
	ClientID     string    `json:"clientId"`
	ClientSecret string    `json:"clientSecret"`
	Name         string    `json:"name,omitempty"`
	Scopes       []string  `json:"scopes,omitempty"`
	Endpoints    Endpoints `json:"endpoints"`
	// PublicKey is the app's P-256 key (SPKI DER, base64) that Genstore
	// encrypts card data to (docs/CONTRACT.md §5).
	PublicKey string `json:"publicKey,omitempty"`
}

// Endpoints are the URLs an app serves (docs/CONTRACT.md §2).
type Endpoints struct {
	OnboardingURL   string `json:"onboardingUrl,omitempty"`
	PaymentURL      string `json:"paymentUrl,omitempty"`
	CaptureURL      string `json:"captureUrl,omitempty"`
	VoidURL         string `json:"voidUrl,omitempty"`
	RefundURL       string `json:"refundUrl,omitempty"`
	PaymentQueryURL string `json:"paymentQueryUrl,omitempty"`
	RefundQueryURL  string `json:"refundQueryUrl,omitempty"`
}

type installRequest struct {
	ClientID string `json:"clientId"`
}

// Installation is the start of an app's installation on a shop: Genstore
// sent the merchant to the app's onboarding URL with code.
type Installation struct {
	ShopID        string    `json:"shopId"`
	ClientID      string    `json:"clientId"`
	Code          string    `json:"code"`
	ExpiresAt     time.Time `json:"expiresAt"`
	OnboardingURL string    `json:"onboardingUrl"`
}
