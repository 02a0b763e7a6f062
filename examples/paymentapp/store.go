package paymentapp

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Env is a card-gateway environment. test:true payments live in the sandbox, test:false
// ones in live (CONTRACT.md §6); every record remembers which, so that its capture, void,
// refund and inquiries go to the same place.
type Env string

// The two environments.
const (
	Sandbox Env = "sandbox"
	Live    Env = "live"
)

// Installation is the app installed on one shop (CONTRACT.md §1).
type Installation struct {
	ShopID      string
	Shop        string
	AccessToken string // X-Genstore-Access-Token of this shop; secret
	Scope       string
	InstalledAt time.Time
}

// Result is a final result as reported to Genstore. Once Final, it never changes: the
// first result stands (CONTRACT.md §3).
type Result struct {
	Final   bool
	Success bool
	Reason  string // why it failed; empty on success
	At      time.Time
}

// PaymentAck is the app's answer to a payment request (specs/genstore-app.yaml PaymentAck).
// Every delivery of one paymentId gets the same one.
type PaymentAck struct {
	ChannelPaymentID string `json:"channelPaymentId"`
	Error            string `json:"error"`
	RedirectURL      string `json:"redirectUrl,omitempty"`

	// busy says the PSP failed and the app declines the request for now (503): only
	// Variant5xxWhilePSPDown answers so; such an answer is never stored.
	busy bool
}

// PaymentRecord is everything the app knows about one payment. It never holds card data
// (but for SupportCard, which only BugLeakCardInReason sets).
type PaymentRecord struct {
	ShopID, Shop  string
	PaymentID     string // Genstore's id: the idempotency key
	BodyHash      string // of the first delivery, to notice a retry that is not byte-identical
	Env           Env
	ManualCapture bool
	Currency      string
	Amount        int64 // minor units
	ClientIP      string
	ReturnURL     string // paymentMethod.data.returnUrl: where the buyer goes back to Genstore
	ReturnToken   string // names the payment in the app's own return URL
	ChallengeURL  string // where the PSP wants the buyer (3-D Secure challenge), once known
	SupportCard   string // BugLeakCardInReason only: the card number, kept "for the support desk"

	Attempt      int    // 1 for every payment of the correct app (see bugs.go)
	OrderNo      string // the gateway's merchant order number, derived from PaymentID
	TradeNo      string // the gateway's payment reference: our channelPaymentId
	PSPStatus    string // the gateway's last known status
	PSPUpdatedAt time.Time

	Answered bool // Ack has been given
	Ack      PaymentAck
	Result   Result

	Captured       int64  // minor units captured (auto capture: the whole amount)
	Refunded       int64  // minor units of succeeded refunds
	RefundsPending int64  // minor units of refunds sent and not yet final
	Busy           string // the capture or void in progress, if any: they exclude each other
	Voided         bool
}

// OpKind is the kind of a follow-up operation on a payment.
type OpKind string

// The follow-up operations of CONTRACT.md §2.
const (
	Capture OpKind = "capture"
	Void    OpKind = "void"
	Refund  OpKind = "refund"
)

// OpAck is the app's answer to a capture, void or refund request; the channel id goes out
// as channelCaptureId, channelVoidId or channelRefundId.
type OpAck struct {
	ChannelID string
	Error     string

	busy bool // as PaymentAck.busy
}

// OperationRecord is one capture, void or refund.
type OperationRecord struct {
	Kind      OpKind
	ShopID    string
	Shop      string
	ID        string // captureId, voidId or refundId: the idempotency key
	PaymentID string
	BodyHash  string
	Env       Env
	Currency  string
	Amount    int64 // minor units; zero for a void

	Attempt      int
	RefundNumber string // refunds: the gateway's merchant refund number, derived from ID
	ChannelID    string
	PSPStatus    string
	PSPUpdatedAt time.Time
	Reserved     int64 // refunds: the amount held in the payment's RefundsPending

	Answered bool
	Ack      OpAck
	Result   Result
}

// ErrNotFound is returned by a Store for a record it does not have.
var ErrNotFound = errors.New("not found")

// Store keeps the app's state. Implementations must be safe for concurrent use; the
// in-memory one (NewMemoryStore) is what the app uses unless told otherwise. A production
// app would put a database behind the same methods.
//
// Update functions run atomically with respect to every other Store call on the same
// record: read, decide, write, with no other writer in between. They must not call the
// Store themselves and must not block (no network calls inside).
type Store interface {
	PutInstallation(ctx context.Context, inst Installation) error
	Installation(ctx context.Context, shopID string) (Installation, error)

	Payment(ctx context.Context, shopID, paymentID string) (PaymentRecord, error)
	PaymentByOrderNo(ctx context.Context, env Env, orderNo string) (PaymentRecord, error)
	PaymentByTradeNo(ctx context.Context, env Env, tradeNo string) (PaymentRecord, error)
	PaymentByReturnToken(ctx context.Context, token string) (PaymentRecord, error)
	// UpdatePayment creates or changes a payment. update gets the record (the zero value
	// with found false if there is none); if it returns an error nothing is written and
	// the error is returned as is.
	UpdatePayment(ctx context.Context, shopID, paymentID string, update func(p *PaymentRecord, found bool) error) (PaymentRecord, error)

	Operation(ctx context.Context, kind OpKind, shopID, id string) (OperationRecord, error)
	RefundByNumber(ctx context.Context, env Env, refundNumber string) (OperationRecord, error)
	UpdateOperation(ctx context.Context, kind OpKind, shopID, id string, update func(o *OperationRecord, found bool) error) (OperationRecord, error)

	// FirstDelivery records a webhook event id and reports whether it is new.
	FirstDelivery(ctx context.Context, eventID string) (bool, error)
}

// memoryStore is a Store in maps behind one mutex: simple and, at this scale, fast enough.
type memoryStore struct {
	mu            sync.Mutex
	installations map[string]Installation
	payments      map[string]*PaymentRecord
	operations    map[string]*OperationRecord
	events        map[string]bool
}

// NewMemoryStore returns an empty in-memory Store. Its state is lost when the process ends.
func NewMemoryStore() Store {
	return &memoryStore{
		installations: map[string]Installation{},
		payments:      map[string]*PaymentRecord{},
		operations:    map[string]*OperationRecord{},
		events:        map[string]bool{},
	}
}

func paymentKey(shopID, paymentID string) string { return shopID + "\x00" + paymentID }

func operationKey(kind OpKind, shopID, id string) string {
	return string(kind) + "\x00" + shopID + "\x00" + id
}

func (s *memoryStore) PutInstallation(_ context.Context, inst Installation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.installations[inst.ShopID] = inst
	return nil
}

func (s *memoryStore) Installation(_ context.Context, shopID string) (Installation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst, ok := s.installations[shopID]
	if !ok {
		return Installation{}, ErrNotFound
	}
	return inst, nil
}

func (s *memoryStore) Payment(_ context.Context, shopID, paymentID string) (PaymentRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.payments[paymentKey(shopID, paymentID)]; ok {
		return *p, nil
	}
	return PaymentRecord{}, ErrNotFound
}

func (s *memoryStore) findPayment(match func(*PaymentRecord) bool) (PaymentRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.payments {
		if match(p) {
			return *p, nil
		}
	}
	return PaymentRecord{}, ErrNotFound
}

func (s *memoryStore) PaymentByOrderNo(_ context.Context, env Env, orderNo string) (PaymentRecord, error) {
	return s.findPayment(func(p *PaymentRecord) bool { return p.Env == env && p.OrderNo == orderNo })
}

func (s *memoryStore) PaymentByTradeNo(_ context.Context, env Env, tradeNo string) (PaymentRecord, error) {
	if tradeNo == "" {
		return PaymentRecord{}, ErrNotFound
	}
	return s.findPayment(func(p *PaymentRecord) bool { return p.Env == env && p.TradeNo == tradeNo })
}

func (s *memoryStore) PaymentByReturnToken(_ context.Context, token string) (PaymentRecord, error) {
	if token == "" {
		return PaymentRecord{}, ErrNotFound
	}
	return s.findPayment(func(p *PaymentRecord) bool { return p.ReturnToken == token })
}

func (s *memoryStore) UpdatePayment(_ context.Context, shopID, paymentID string, update func(*PaymentRecord, bool) error) (PaymentRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := paymentKey(shopID, paymentID)
	var p PaymentRecord
	old, found := s.payments[key]
	if found {
		p = *old
	}
	if err := update(&p, found); err != nil {
		return PaymentRecord{}, err
	}
	p.ShopID, p.PaymentID = shopID, paymentID
	s.payments[key] = &p
	return p, nil
}

func (s *memoryStore) Operation(_ context.Context, kind OpKind, shopID, id string) (OperationRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, ok := s.operations[operationKey(kind, shopID, id)]; ok {
		return *o, nil
	}
	return OperationRecord{}, ErrNotFound
}

func (s *memoryStore) RefundByNumber(_ context.Context, env Env, refundNumber string) (OperationRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.operations {
		if o.Kind == Refund && o.Env == env && o.RefundNumber == refundNumber {
			return *o, nil
		}
	}
	return OperationRecord{}, ErrNotFound
}

func (s *memoryStore) UpdateOperation(_ context.Context, kind OpKind, shopID, id string, update func(*OperationRecord, bool) error) (OperationRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := operationKey(kind, shopID, id)
	var o OperationRecord
	old, found := s.operations[key]
	if found {
		o = *old
	}
	if err := update(&o, found); err != nil {
		return OperationRecord{}, err
	}
	o.Kind, o.ShopID, o.ID = kind, shopID, id
	s.operations[key] = &o
	return o, nil
}

func (s *memoryStore) FirstDelivery(_ context.Context, eventID string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.events[eventID] {
		return false, nil
	}
	s.events[eventID] = true
	return true, nil
}
