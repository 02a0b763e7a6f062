// Package threeds is the 3-D Secure directory server and access control
// server (ACS) that every emulated PSP uses: the card gateway for its card
// payments and checkout sessions, CodePay for its merchant-hosted checkout.
//
// A PSP asks Authenticate to authenticate a card for an amount, a currency
// and a merchant. The card's row of TESTCARDS.md (fixtures/testcards.yaml)
// decides what happens: a frictionless result (Y, A, N, R, U), a challenge
// (a page served at /3ds/challenge/{acsTransId} that takes an OTP, or the
// admin action that completes it without a browser), a decoupled
// authentication that resolves on the clock, a card that is not enrolled, or
// a directory server error. A challenge or decoupled authentication ends
// later; the PSP learns the result through its OnComplete callback (and may
// read it with Get at any time).
//
// Authentication values (CAVV/AAV) are derived from the dsTransID
// (AuthenticationValue), and each result is bound to the one authorization
// that presents it (Bind): a value from another transaction, another card,
// merchant or amount is refused. The service never keeps a card number: it
// keeps a keyed fingerprint and the masked number only.
package threeds

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pspsim/pspsim/fixtures"
	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/ids"
	"github.com/pspsim/pspsim/simulator/jobs"
	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/mac"
	"github.com/pspsim/pspsim/simulator/money"
	"github.com/pspsim/pspsim/simulator/pan"
	"github.com/pspsim/pspsim/simulator/store"
)

// Name is the service's name in the journal.
const Name = "threeds"

// Version is the EMV 3-D Secure protocol version the simulated directory
// servers speak.
const Version = "2.2.0"

// Flows an authentication can take (the gateway spec's ThreeDsResult.flow).
const (
	FlowFrictionless = "frictionless"
	FlowChallenge    = "challenge"
	FlowDecoupled    = "decoupled"
	FlowNotEnrolled  = "not_enrolled"
	FlowDSError      = "ds_error"
)

// Transaction statuses (EMV 3DS transStatus) this simulator produces.
const (
	StatusY = "Y" // authenticated
	StatusA = "A" // attempted: not authenticated, proof of attempt
	StatusN = "N" // not authenticated
	StatusR = "R" // rejected: the issuer refuses; never authorize
	StatusU = "U" // unavailable
	StatusC = "C" // challenge required (pending)
	StatusD = "D" // decoupled authentication (pending)
)

// Reasons (EMV 3DS transStatusReason) this simulator uses.
const (
	ReasonCardAuthFailed = "01" // card authentication failed (N)
	ReasonSuspectedFraud = "11" // suspected fraud (R)
	ReasonTimedOut       = "14" // transaction timed out / abandoned (U)
)

// DefaultChallengeTimeout is how long a challenge waits for the cardholder
// before it ends as abandoned (U, reason 14).
const DefaultChallengeTimeout = 10 * time.Minute

// MaxOTPAttempts is how many wrong codes a challenge page takes before the
// authentication fails (N).
const MaxOTPAttempts = 3

// Options build a Service.
type Options struct {
	Clock   clock.Clock
	Store   store.Store
	Journal *journal.Journal
	IDs     *ids.Generator
	// BaseURL returns the simulator's public URL, for challenge page links.
	BaseURL func() string
	// Cards is the magic card table; nil loads fixtures.TestCards().
	Cards *fixtures.Cards
	// ChallengeTimeout bounds a challenge; 0 means DefaultChallengeTimeout.
	ChallengeTimeout time.Duration
	// Jobs keeps the challenge timeouts and decoupled resolutions (the
	// simulator's scheduler, durable with a durable store); nil: a memory
	// scheduler on Clock.
	Jobs jobs.Scheduler
}

// Request asks for the authentication of one card payment.
type Request struct {
	// System is the caller ("vmgateway", "codepay"), for the journal.
	System string
	// MerchantID and MerchantName identify the merchant (the name is shown
	// on the challenge page).
	MerchantID   string
	MerchantName string
	// Reference is the caller's id of the payment (tradeNo, trans_no). The
	// result can only be bound to an authorization with this reference. An
	// empty reference makes a standalone authentication, bound to the first
	// authorization that presents it.
	Reference string
	// CardNumber is the PAN. It is read, never stored or logged.
	CardNumber string
	// MaskedPAN, when set, is pan.Mask(CardNumber), which the caller has
	// made already (its payment shows it too): the authentication keeps
	// that string rather than masking the number a second time.
	MaskedPAN string
	// Amount (minor units) and Currency (ISO 4217) of the purchase.
	Amount   int64
	Currency string
	// ReturnURL is where the challenge page sends the browser (303) when the
	// challenge ends: an absolute http(s) URL, or a path on this simulator.
	ReturnURL string
	// JournalIDs are the caller's ids (orderNo, tradeNo, trans_no...) added
	// to every journal event of this authentication.
	JournalIDs map[string]string
	// IDs are more of them, given as a list: a PSP's request path need not
	// build a map. A name also in JournalIDs, or given twice, takes its last
	// value here.
	IDs IDs
	// OnComplete, when set, is called once when a challenge or a decoupled
	// authentication ends (not for results Authenticate returns final). It
	// runs outside any lock, on the goroutine that ended the authentication
	// (the challenge page's request, the admin action, or a clock timer).
	// It lives in this process only: see Notify for a completion that
	// survives a restart or ends on another replica.
	OnComplete func(ctx context.Context, r Result)
	// Notify names the handler (registered with Service.OnNotify) told of
	// the final result when the process that ends the authentication has no
	// OnComplete for it: after a restart on a durable store, or when another
	// replica ends it (the challenge page posted to replica B). NotifyData
	// is what the handler needs to find its payment (a tradeNo, a
	// trans_no); both are stored with the authentication, so they must be
	// data, never card data.
	Notify     string
	NotifyData []byte
	// BindFinal binds a result that is final at once and shifts liability
	// (a frictionless Y or A) to Reference in the very write that stores the
	// authentication, as Bind with the request's own values would, and
	// journals threeds.bound after the authentication's event, as Bind does.
	// A PSP that authenticates its own payment and would bind the result
	// straight away sets it: the authentication is then stored once instead
	// of stored, read back and updated (Result.BoundTo says it was bound).
	// Any other result (a challenge, a decoupled authentication, N, R, U) is
	// bound later with Bind, as without it. It needs a Reference.
	BindFinal bool
}

// Result is where an authentication stands.
type Result struct {
	ThreeDSServerTransID string `json:"threeDsServerTransId"`
	// DSTransID and ACSTransID are absent when the card is not enrolled or
	// the directory server failed (no authentication took place).
	DSTransID         string `json:"dsTransId,omitempty"`
	ACSTransID        string `json:"acsTransId,omitempty"`
	Version           string `json:"version"`
	Flow              string `json:"flow"`
	TransStatus       string `json:"transStatus,omitempty"`
	TransStatusReason string `json:"transStatusReason,omitempty"`
	// ECI is the indicator the authorization must carry (absent on a
	// directory server error, when nothing can be authorized).
	ECI string `json:"eci,omitempty"`
	// AuthenticationValue is the CAVV (Visa) or AAV (Mastercard), base64 of
	// 20 bytes; only for Y and A.
	AuthenticationValue string `json:"authenticationValue,omitempty"`
	LiabilityShift      bool   `json:"liabilityShift"`
	// ChallengeURL is the page to send the cardholder to while the status
	// is C.
	ChallengeURL string `json:"challengeUrl,omitempty"`
	// Final is false while the status is C or D.
	Final     bool   `json:"final"`
	Brand     string `json:"brand"`
	MaskedPAN string `json:"maskedPan"`
	System    string `json:"system,omitempty"`
	Merchant  string `json:"merchantId"`
	Reference string `json:"reference,omitempty"`
	Amount    int64  `json:"amountMinor"`
	Currency  string `json:"currency"`
	// BoundTo is the reference of the authorization that used the result.
	BoundTo     string     `json:"boundTo,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	ExpiresAt   *time.Time `json:"expiresAt,omitempty"`
	CompletedAt *time.Time `json:"completedAt,omitempty"`
}

// Transaction is the stored form of an authentication.
type Transaction struct {
	Result
	MerchantName    string `json:"merchantName,omitempty"`
	CardFingerprint string `json:"cardFingerprint"`
	NN              string `json:"nn,omitempty"`
	ReturnURL       string `json:"returnUrl,omitempty"`
	FinalStatus     string `json:"finalStatus,omitempty"` // a decoupled authentication's outcome
	OTPAttempts     int    `json:"otpAttempts,omitempty"`
	JournalIDs      IDs    `json:"journalIds,omitempty"`
	// Notify and NotifyData are the request's named completion. ReturnURL,
	// Notify and NotifyData are kept only while a result is to come: an
	// authentication final at once never uses them.
	Notify     string `json:"notify,omitempty"`
	NotifyData []byte `json:"notifyData,omitempty"`
}

// Errors of the service.
var (
	// ErrNotFound: no authentication with this id.
	ErrNotFound = errors.New("threeds: no such authentication")
	// ErrNotPending: the authentication is final already.
	ErrNotPending = errors.New("threeds: the authentication is not waiting for the cardholder")
)

// InvalidError is a request the service refuses, naming the field.
type InvalidError struct {
	Field  string
	Reason string
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Reason }

// Service is the simulated directory server and ACS.
type Service struct {
	opts  Options
	cards *fixtures.Cards
	txns  store.Table[Transaction]
	key   *mac.Keyed // card fingerprints, under a key of the run
	cavv  *mac.Keyed // authentication values, under cavvKey

	mu        sync.Mutex
	callbacks map[string]waiter
	sweepAt   int // how many callbacks make keep look for useless ones
	notifiers map[string]Notifier
}

// waiter is a request's OnComplete, held in this process until its
// authentication ends; named says the request has a Notify too, which can
// tell the payment instead.
type waiter struct {
	fn    func(context.Context, Result)
	named bool
}

// minSweep is how many callbacks a service holds before keep first looks for
// those another replica made useless.
const minSweep = 1024

// Notifier is a named completion handler (Request.Notify): data is the
// request's NotifyData, r the final result.
type Notifier func(ctx context.Context, data []byte, r Result)

// OnNotify registers the handler of Request.Notify name. Each PSP registers
// its own when it is built, so that a fresh process, or another replica, can
// tell the payment waiting for an authentication it did not start.
// Registering a name again replaces its handler.
func (s *Service) OnNotify(name string, h Notifier) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notifiers[name] = h
}

// New builds the service.
func New(o Options) (*Service, error) {
	if o.Clock == nil || o.Store == nil || o.Journal == nil || o.IDs == nil || o.BaseURL == nil {
		return nil, errors.New("threeds: Clock, Store, Journal, IDs and BaseURL are required")
	}
	if o.ChallengeTimeout <= 0 {
		o.ChallengeTimeout = DefaultChallengeTimeout
	}
	cards := o.Cards
	if cards == nil {
		var err error
		if cards, err = fixtures.TestCards(); err != nil {
			return nil, fmt.Errorf("threeds: %w", err)
		}
	}
	if o.Jobs == nil {
		o.Jobs = jobs.NewMemory(o.Clock)
	}
	s := &Service{
		opts: o, cards: cards, txns: store.NewTable(o.Store, "3ds.transaction", authenticationDone()),
		key:  mac.New([]byte(o.IDs.Derive("threeds-card-fingerprint").Hex(32))),
		cavv: mac.New([]byte(cavvKey)), callbacks: map[string]waiter{},
		notifiers: map[string]Notifier{},
	}
	s.registerJobs()
	return s, nil
}

// ChallengeURL returns the challenge page of an ACS transaction.
func (s *Service) ChallengeURL(acsTransID string) string {
	return s.opts.BaseURL() + "/3ds/challenge/" + acsTransID
}

// record journals an event of t: its ids and the caller's, its flow, status
// and card (masked), and extra. The ids and data go as lists on the stack (a
// later entry of a name wins, as it did in the maps they were), which the
// journal keeps as it would keep the maps, without building them.
func (s *Service) record(kind, msg string, t *Transaction, extra ...journal.Field) {
	var idBuf [8]journal.ID
	var dataBuf [8]journal.Field
	ids := append(idBuf[:0], journal.ID{Name: "threeDsServerTransId", Value: t.ThreeDSServerTransID})
	for _, p := range t.JournalIDs {
		ids = append(ids, journal.ID{Name: p.Name, Value: p.Value})
	}
	if t.DSTransID != "" {
		ids = append(ids, journal.ID{Name: "dsTransId", Value: t.DSTransID})
	}
	if t.ACSTransID != "" {
		ids = append(ids, journal.ID{Name: "acsTransId", Value: t.ACSTransID})
	}
	if t.Merchant != "" {
		ids = append(ids, journal.ID{Name: "merchant", Value: t.Merchant})
	}
	data := append(dataBuf[:0], extra...)
	data = append(data, journal.String("flow", t.Flow), journal.String("transStatus", t.TransStatus),
		journal.String("maskedPan", t.MaskedPAN), journal.String("brand", t.Brand))
	s.opts.Journal.RecordFields(journal.Event{System: Name, Kind: kind, Message: msg}, ids, data)
}

// CardNumberValid is the card-number rule of the directory servers and of
// the PSPs that use them: 12 to 19 digits passing the Luhn check, except
// UnionPay numbers (62…), which UnionPay issues outside the Luhn scheme (seed
// 004's own sample card, 6212454545454690, fails it). A UnionPay card is
// authenticated like any other: by its test card row, or the default one.
func CardNumberValid(number string) bool {
	if len(number) < 12 || len(number) > 19 {
		return false
	}
	for _, c := range number {
		if c < '0' || c > '9' {
			return false
		}
	}
	return strings.HasPrefix(number, "62") || pan.Luhn(number)
}

// Authenticate runs the authentication of req.CardNumber. The answer is
// final (frictionless, not enrolled, directory server error) or pending:
// status C with a ChallengeURL, or D (decoupled); req.OnComplete (in this
// process) or the handler named by req.Notify (in any) then hears the final
// result.
func (s *Service) Authenticate(ctx context.Context, req Request) (Result, error) {
	switch {
	case !CardNumberValid(req.CardNumber):
		return Result{}, &InvalidError{"cardNumber", "must be 12 to 19 digits passing the Luhn check (UnionPay 62… numbers need not)"}
	case req.Amount <= 0:
		return Result{}, &InvalidError{"amount", "must be greater than zero"}
	case req.MerchantID == "":
		return Result{}, &InvalidError{"merchantId", "is required"}
	}
	if _, ok := money.Exponent(req.Currency); !ok {
		return Result{}, &InvalidError{"currency", "must be an ISO 4217 code"}
	}
	if !returnURLValid(req.ReturnURL) {
		return Result{}, &InvalidError{"returnUrl", "must be an absolute http(s) URL or a path on this simulator"}
	}
	row, brand, _ := s.cards.Lookup(req.CardNumber)
	now := s.opts.Clock.Now()
	flow := row.ThreeDS.Flow
	switch flow {
	case "", "none", "not_requested":
		// The card has no 3-D Secure behaviour of its own: when asked, it
		// authenticates like any card outside the table (TESTCARDS.md).
		flow, row = s.cards.Default.ThreeDS.Flow, s.cards.Default
	}
	// The transaction's ids (threeDSServerTransID, dsTransID, acsTransID and
	// the CAVV made from the dsTransID) are drawn and claimed together when
	// it is stored; a clash on any of them draws them all again.
	var t Transaction
	_, err := store.NewID(func(int) string { return s.opts.IDs.UUID() }, func(id string) error {
		var keys []string
		t, keys = s.newTransaction(req, id, brand, flow, row, now)
		return store.DrawnKeys(s.txns.Create(ctx, t.ThreeDSServerTransID, t, keys...))
	})
	if err != nil {
		return Result{}, fmt.Errorf("threeds: store authentication: %w", err)
	}
	if !t.Final && req.OnComplete != nil {
		s.keep(ctx, t.ThreeDSServerTransID, waiter{fn: req.OnComplete, named: req.Notify != ""})
	}
	s.record("threeds.authentication", authenticationMessage(&t), &t,
		journal.Int("amountMinor", t.Amount), journal.String("currency", t.Currency), journal.String("version", t.Version))
	if t.BoundTo != "" {
		s.recordBound(&t, t.BoundTo)
	}
	switch t.TransStatus {
	case StatusC:
		s.schedule(ctx, jobs.Job{Kind: expireKind, Key: t.ThreeDSServerTransID, Due: now.Add(s.opts.ChallengeTimeout)})
	case StatusD:
		s.schedule(ctx, jobs.Job{Kind: resolveKind, Key: t.ThreeDSServerTransID, Due: *t.ExpiresAt})
	}
	return t.Result, nil
}

// keep holds a request's OnComplete until its authentication ends. Another
// replica may end it (the challenge page posted there): that replica tells
// the payment by name, and this closure would wait forever. So each time the
// callbacks reach twice what the last look left (and at least minSweep),
// keep drops those whose authentication is final or gone and that have a
// name to fall back on. Dropping one whose end this very process is telling
// at that moment only makes notify use the name instead: still once. A
// closure without a name is never dropped, as nothing else could tell its
// payment.
func (s *Service) keep(ctx context.Context, id string, w waiter) {
	s.mu.Lock()
	s.callbacks[id] = w
	var look []string
	if n := len(s.callbacks); n >= max(s.sweepAt, minSweep) {
		for id, w := range s.callbacks {
			if w.named {
				look = append(look, id)
			}
		}
		s.sweepAt = 2 * n // no second look meanwhile
	}
	s.mu.Unlock()
	if len(look) == 0 {
		return
	}
	var done []string
	for _, id := range look {
		t, err := s.txns.Get(ctx, id)
		if errors.Is(err, store.ErrNotFound) || err == nil && t.Final {
			done = append(done, id)
		}
	}
	s.mu.Lock()
	for _, id := range done {
		delete(s.callbacks, id)
	}
	s.sweepAt = 2 * len(s.callbacks)
	s.mu.Unlock()
}

// maskedPAN is req's card number masked: as the caller gave it, or masked here.
func maskedPAN(req Request) string {
	if req.MaskedPAN != "" {
		return req.MaskedPAN
	}
	return pan.Mask(req.CardNumber)
}

// newTransaction builds an authentication's transaction under the id
// threeDSServerTransID, drawing its other ids, and returns the unique keys
// it is found by.
func (s *Service) newTransaction(req Request, id, brand, flow string, row fixtures.TestCard, now time.Time) (Transaction, []string) {
	t := Transaction{
		Result: Result{
			ThreeDSServerTransID: id, Version: Version, Brand: brand, MaskedPAN: maskedPAN(req),
			System: req.System, Merchant: req.MerchantID, Reference: req.Reference, Amount: req.Amount, Currency: req.Currency,
			CreatedAt: now,
		},
		MerchantName: req.MerchantName, CardFingerprint: s.fingerprint(req.CardNumber), NN: row.NN,
		ReturnURL: req.ReturnURL, JournalIDs: journalIDs(req.JournalIDs, req.IDs),
	}
	if req.Notify != "" {
		t.Notify, t.NotifyData = req.Notify, req.NotifyData
	}
	var keys []string
	switch flow {
	case "ds_error":
		t.Flow, t.Final = FlowDSError, true
	case "not_enrolled":
		t.Flow, t.Final, t.ECI = FlowNotEnrolled, true, ECI(brand, "")
	default:
		// The ids are kept as the tails of their unique keys: one string
		// each instead of two (the memory store keeps both the key and the
		// value, for every authentication).
		dsKey, acsKey := s.opts.IDs.PrefixedUUID("ds/"), s.opts.IDs.PrefixedUUID("acs/")
		t.DSTransID, t.ACSTransID = dsKey[len("ds/"):], acsKey[len("acs/"):]
		keys = append(make([]string, 0, 3), dsKey, acsKey) // and a CAVV's, below
		switch flow {
		case "challenge", "challenge_abandoned":
			t.Flow, t.TransStatus = FlowChallenge, StatusC
			t.ChallengeURL = s.ChallengeURL(t.ACSTransID)
			exp := now.Add(s.opts.ChallengeTimeout)
			t.ExpiresAt = &exp
		case "decoupled":
			t.Flow, t.TransStatus, t.FinalStatus = FlowDecoupled, StatusD, row.ThreeDS.FinalStatus
			delay := row.ThreeDS.DecoupledDelay.Std()
			if delay <= 0 {
				delay = 30 * time.Second
			}
			exp := now.Add(delay)
			t.ExpiresAt = &exp
		default: // frictionless, unavailable
			t.Flow, t.Final = FlowFrictionless, true
			if key := s.settle(&t, row.ThreeDS.TransStatus, row.ThreeDS.ReasonCode, now); key != "" {
				keys = append(keys, key) // its value is the key's tail, as the ids above
			}
			if req.BindFinal && req.Reference != "" && t.LiabilityShift {
				// What Bind would check of the request's own values holds by
				// construction: final, Y or A, the same merchant, amount,
				// currency, reference and value, and bound to no one yet.
				t.BoundTo = req.Reference
			}
		}
	}
	if t.Final {
		// Final at once: no challenge page will send a browser to the
		// return URL, and no completion will be told (only the end of a
		// challenge or a decoupled authentication is): what was kept for
		// them would never be read again, in every authentication stored.
		t.ReturnURL, t.Notify, t.NotifyData = "", "", nil
	}
	return t, keys
}

// authenticationMessage is the journal's message of a new authentication,
// t.Brand+" "+t.MaskedPAN+" authentication for "+money.Format(t.Amount,
// t.Currency)+" "+t.Currency+": "+describe(t.Result), made in one string
// rather than three (TestAuthenticationMessageIsItsConcatenation).
func authenticationMessage(t *Transaction) string {
	amount := money.Format(t.Amount, t.Currency)
	var b strings.Builder
	b.Grow(len(t.Brand) + len(t.MaskedPAN) + len(amount) + len(t.Currency) + len(" authentication for : ") + 2 +
		len(t.Flow) + len(t.TransStatus) + len(t.TransStatusReason) + len(" (reason )") + len("decoupled authentication started"))
	b.WriteString(t.Brand)
	b.WriteByte(' ')
	b.WriteString(t.MaskedPAN)
	b.WriteString(" authentication for ")
	b.WriteString(amount)
	b.WriteByte(' ')
	b.WriteString(t.Currency)
	b.WriteString(": ")
	describeTo(&b, &t.Result)
	return b.String()
}

// describeTo writes describe(*r) to b.
func describeTo(b *strings.Builder, r *Result) {
	switch {
	case r.Flow == FlowDSError:
		b.WriteString("directory server error")
	case r.Flow == FlowNotEnrolled:
		b.WriteString("card not enrolled")
	case r.TransStatus == StatusC:
		b.WriteString("challenge required")
	case r.TransStatus == StatusD:
		b.WriteString("decoupled authentication started")
	default:
		b.WriteString(r.Flow)
		b.WriteByte(' ')
		b.WriteString(r.TransStatus)
		if r.TransStatusReason != "" {
			b.WriteString(" (reason ")
			b.WriteString(r.TransStatusReason)
			b.WriteByte(')')
		}
	}
}

func describe(r Result) string {
	switch {
	case r.Flow == FlowDSError:
		return "directory server error"
	case r.Flow == FlowNotEnrolled:
		return "card not enrolled"
	case r.TransStatus == StatusC:
		return "challenge required"
	case r.TransStatus == StatusD:
		return "decoupled authentication started"
	}
	s := r.Flow + " " + r.TransStatus
	if r.TransStatusReason != "" {
		s += " (reason " + r.TransStatusReason + ")"
	}
	return s
}

// settle writes a final transStatus and what follows from it; cavvKey is
// the unique key of its authentication value, when it has one.
func (s *Service) settle(t *Transaction, status, reason string, now time.Time) (cavvKey string) {
	t.TransStatus, t.TransStatusReason, t.Final = status, reason, true
	t.ECI = ECI(t.Brand, status)
	t.LiabilityShift = LiabilityShift(status)
	if t.LiabilityShift {
		cavvKey = s.cavvKeyOf(t.DSTransID)
		t.AuthenticationValue = cavvKey[len("cavv/"):]
	}
	t.ChallengeURL = ""
	t.ExpiresAt = nil
	done := now
	t.CompletedAt = &done
	return cavvKey
}

// Get returns an authentication by its threeDSServerTransID, dsTransID or
// acsTransID.
func (s *Service) Get(ctx context.Context, id string) (Result, error) {
	return resultOf(s.find(ctx, id))
}

// resultOf is what the service answers of a transaction it found (or not).
func resultOf(t Transaction, err error) (Result, error) {
	if err != nil {
		return Result{}, err
	}
	return t.Result, nil
}

func (s *Service) find(ctx context.Context, id string) (Transaction, error) {
	t, err := s.txns.Get(ctx, id)
	if err == nil {
		return t, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return Transaction{}, fmt.Errorf("threeds: %w", err) // the store did not answer: not ErrNotFound
	}
	for _, prefix := range []string{"ds/", "acs/"} {
		t, err := s.txns.Lookup(ctx, prefix+id)
		if err == nil {
			return t, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return Transaction{}, fmt.Errorf("threeds: %w", err)
		}
	}
	return Transaction{}, ErrNotFound
}

// authenticationDone lets the store's retention forget an authentication
// once it is final (no challenge or decoupled timer left), oldest first.
func authenticationDone() store.Option[Transaction] {
	return store.EvictableReading(doneReads, authenticationEnded)
}

// doneReads are the fields authenticationEnded reads: the store decodes
// only them to ask it (TestAuthenticationEndedReadsOnlyItsFields).
var doneReads = []string{"Result.Final"}

func authenticationEnded(t *Transaction, _ store.Peek) bool { return t.Final }
