package genstore

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pspsim/pspsim/fixtures"
	"github.com/pspsim/pspsim/simulator/ecies"
	"github.com/pspsim/pspsim/simulator/money"
)

// Settings are the simulator's values for everything CONTRACT.md marks
// "our choice", so that a user who learns Genstore's real value switches to
// it in the `genstore.settings` section of --config. Zero fields take the
// contract's values (DefaultSettings).
type Settings struct {
	// CodeLifetime is how long an installation code can be exchanged (10m).
	CodeLifetime fixtures.Duration `yaml:"codeLifetime"`
	// PaymentRetries are the waits between attempts of a payment request
	// (1s, 3s, 10s: four attempts, then the payment fails).
	PaymentRetries []fixtures.Duration `yaml:"paymentRetries"`
	// OperationRetries are the first waits between attempts of a capture,
	// void or refund request (30s, 2m, 10m, 30m, 1h, 2h, 4h, 8h) ...
	OperationRetries []fixtures.Duration `yaml:"operationRetries"`
	// ... then OperationRetryEvery (8h) as long as the next attempt falls
	// within OperationRetryFor (48h) of the first one.
	OperationRetryEvery fixtures.Duration `yaml:"operationRetryEvery"`
	OperationRetryFor   fixtures.Duration `yaml:"operationRetryFor"`
	// RequestTimeout bounds each attempt (10s, wall time).
	RequestTimeout fixtures.Duration `yaml:"requestTimeout"`
	// Reconciliation lists when, after the acknowledgement, the app's query
	// endpoint is asked if no callback has come (5m, 30m, 2h, 24h).
	Reconciliation []fixtures.Duration `yaml:"reconciliation"`
	// ResultDeadline is when a final result is due (30s after the first
	// attempt, or after the buyer's return); a late one is journaled.
	ResultDeadline fixtures.Duration `yaml:"resultDeadline"`
	// PaymentExpiry is when an acknowledged payment with no final result
	// fails (24h after the acknowledgement, right after the last poll).
	PaymentExpiry fixtures.Duration `yaml:"paymentExpiry"`
	// BodyHMACHeader sends X-Genstore-Hmac-Sha256 (true).
	BodyHMACHeader *bool `yaml:"bodyHmacHeader"`
	// IdempotencyKeyHeader sends Idempotency-Key (true).
	IdempotencyKeyHeader *bool `yaml:"idempotencyKeyHeader"`
	// ECIES holds the card encryption's unpublished parameters.
	ECIES ECIESSettings `yaml:"ecies"`
}

// ECIESSettings are ecies.Settings as YAML: info as text, aad by name.
type ECIESSettings struct {
	Info string `yaml:"info"`
	AAD  string `yaml:"aad"`
	Salt string `yaml:"salt"`
}

// Ecies converts to the ecies package's settings.
func (e ECIESSettings) Ecies() ecies.Settings {
	s := ecies.Settings{AAD: ecies.AADLayout(e.AAD), Salt: e.Salt}
	if e.Info != "" {
		s.Info = []byte(e.Info)
	}
	return s
}

func durations(ds ...time.Duration) []fixtures.Duration {
	out := make([]fixtures.Duration, len(ds))
	for i, d := range ds {
		out[i] = fixtures.Duration(d)
	}
	return out
}

// DefaultSettings returns the values of CONTRACT.md.
func DefaultSettings() Settings {
	yes := true
	return Settings{
		CodeLifetime:         fixtures.Duration(10 * time.Minute),
		PaymentRetries:       durations(time.Second, 3*time.Second, 10*time.Second),
		OperationRetries:     durations(30*time.Second, 2*time.Minute, 10*time.Minute, 30*time.Minute, time.Hour, 2*time.Hour, 4*time.Hour, 8*time.Hour),
		OperationRetryEvery:  fixtures.Duration(8 * time.Hour),
		OperationRetryFor:    fixtures.Duration(48 * time.Hour),
		RequestTimeout:       fixtures.Duration(10 * time.Second),
		Reconciliation:       durations(5*time.Minute, 30*time.Minute, 2*time.Hour, 24*time.Hour),
		ResultDeadline:       fixtures.Duration(30 * time.Second),
		PaymentExpiry:        fixtures.Duration(24 * time.Hour),
		BodyHMACHeader:       &yes,
		IdempotencyKeyHeader: &yes,
		ECIES:                ECIESSettings{AAD: string(ecies.AADConcat), Salt: ecies.DefaultSalt},
	}
}

func std(ds []fixtures.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Std()
	}
	return out
}

// paymentSchedule is the waits between payment attempts.
func (s Settings) paymentSchedule() []time.Duration { return std(s.PaymentRetries) }

// operationSchedule is the waits between capture/void/refund attempts: the
// listed ones, then every OperationRetryEvery while the attempt still falls
// within OperationRetryFor of the first. With the defaults: 8 listed waits
// (the 9th attempt at 15h42m30s) and 4 more every 8h (the 13th and last at
// 47h42m30s).
func (s Settings) operationSchedule() []time.Duration {
	out := std(s.OperationRetries)
	var total time.Duration
	for _, d := range out {
		total += d
	}
	every, limit := s.OperationRetryEvery.Std(), s.OperationRetryFor.Std()
	for every > 0 && total+every <= limit {
		out = append(out, every)
		total += every
	}
	return out
}

func (s Settings) validate() error {
	check := func(name string, ds ...fixtures.Duration) error {
		for _, d := range ds {
			if d < 0 {
				return fmt.Errorf("settings.%s: durations must not be negative", name)
			}
		}
		return nil
	}
	for name, ds := range map[string][]fixtures.Duration{
		"codeLifetime": {s.CodeLifetime}, "paymentRetries": s.PaymentRetries, "operationRetries": s.OperationRetries,
		"operationRetryEvery": {s.OperationRetryEvery}, "operationRetryFor": {s.OperationRetryFor},
		"requestTimeout": {s.RequestTimeout}, "reconciliation": s.Reconciliation,
		"resultDeadline": {s.ResultDeadline}, "paymentExpiry": {s.PaymentExpiry},
	} {
		if err := check(name, ds...); err != nil {
			return err
		}
	}
	if s.CodeLifetime <= 0 || s.RequestTimeout <= 0 || s.PaymentExpiry <= 0 {
		return errors.New("settings: codeLifetime, requestTimeout and paymentExpiry must be positive")
	}
	if err := s.ECIES.Ecies().Validate(); err != nil {
		return fmt.Errorf("settings.ecies: %w", err)
	}
	return nil
}

// Config is the shape of fixtures/genstore.yaml and of the `genstore:`
// section of `pspsim serve --config`: settings, apps, shops, installations
// and sample payments. The config's entries are loaded after the fixtures';
// one with the id of a fixture replaces it.
type Config struct {
	Settings      yaml.Node        `yaml:"settings"`
	Apps          []App            `yaml:"apps"`
	Shops         []Shop           `yaml:"shops"`
	Installations []Installation   `yaml:"installations"`
	Payments      []PaymentFixture `yaml:"payments"`
}

// PaymentFixture is sample data: a payment in a given state, so that the
// vendor's own curl samples (seeds 000 and 001) work against a fresh sandbox.
type PaymentFixture struct {
	ShopID             string             `yaml:"shopId"`
	ClientID           string             `yaml:"clientId"`
	PaymentID          string             `yaml:"paymentId"`
	OutOrderNo         string             `yaml:"outOrderNo"`
	Amount             string             `yaml:"amount"`
	Currency           string             `yaml:"currency"`
	ManualCapture      bool               `yaml:"manualCapture"`
	Status             int                `yaml:"status"`
	ChannelPaymentID   string             `yaml:"channelPaymentId"`
	SuccessPaymentTime string             `yaml:"successPaymentTime"`
	Operations         []OperationFixture `yaml:"operations"`
}

// OperationFixture is a sample capture, void or refund.
type OperationFixture struct {
	Kind      string   `yaml:"kind"`
	ID        string   `yaml:"id"`
	Amount    string   `yaml:"amount"`
	Status    OpStatus `yaml:"status"`
	ChannelID string   `yaml:"channelId"`
}

var (
	idRE     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)
	handleRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
)

// loadConfig reads the fixtures and the --config section into settings and
// objects, checking everything a running simulator would otherwise trip on.
func loadConfig(node *yaml.Node) (Settings, Config, error) {
	raw, err := fixtures.Read("genstore.yaml")
	if err != nil {
		return Settings{}, Config{}, err
	}
	var fx Config
	if err := yaml.Unmarshal(raw, &fx); err != nil {
		return Settings{}, Config{}, fmt.Errorf("genstore fixtures: %w", err)
	}
	settings := DefaultSettings()
	if !fx.Settings.IsZero() {
		if err := fx.Settings.Decode(&settings); err != nil {
			return Settings{}, Config{}, fmt.Errorf("genstore fixtures: settings: %w", err)
		}
	}
	merged := fx
	if node != nil && !node.IsZero() {
		var cfg Config
		dec := node
		if err := dec.Decode(&cfg); err != nil {
			return Settings{}, Config{}, fmt.Errorf("config genstore: %w", err)
		}
		if !cfg.Settings.IsZero() {
			if err := cfg.Settings.Decode(&settings); err != nil {
				return Settings{}, Config{}, fmt.Errorf("config genstore: settings: %w", err)
			}
		}
		merged.Apps = mergeBy(fx.Apps, cfg.Apps, func(a App) string { return a.ClientID })
		merged.Shops = mergeBy(fx.Shops, cfg.Shops, func(s Shop) string { return s.ShopID })
		merged.Installations = mergeBy(fx.Installations, cfg.Installations, func(i Installation) string { return installationKey(i.ShopID, i.ClientID) })
		merged.Payments = mergeBy(fx.Payments, cfg.Payments, func(p PaymentFixture) string { return paymentKey(p.ShopID, p.PaymentID) })
	}
	if err := settings.validate(); err != nil {
		return Settings{}, Config{}, fmt.Errorf("genstore: %w", err)
	}
	if err := merged.validate(); err != nil {
		return Settings{}, Config{}, fmt.Errorf("genstore: %w", err)
	}
	return settings, merged, nil
}

// mergeBy appends over to base; an entry of over with a key of base replaces it.
func mergeBy[T any](base, over []T, key func(T) string) []T {
	out := slices.Clone(base)
	for _, o := range over {
		i := slices.IndexFunc(out, func(b T) bool { return key(b) == key(o) })
		if i >= 0 {
			out[i] = o
		} else {
			out = append(out, o)
		}
	}
	return out
}

func (c Config) validate() error {
	apps := map[string]bool{}
	for i, a := range c.Apps {
		if err := checkApp(a); err != nil {
			return fmt.Errorf("apps[%d]: %w", i, err)
		}
		apps[a.ClientID] = true
	}
	shops := map[string]bool{}
	for i, s := range c.Shops {
		if err := checkShop(s); err != nil {
			return fmt.Errorf("shops[%d]: %w", i, err)
		}
		shops[s.ShopID] = true
	}
	for i, in := range c.Installations {
		switch {
		case !shops[in.ShopID]:
			return fmt.Errorf("installations[%d]: shopId %q is not a shop", i, in.ShopID)
		case !apps[in.ClientID]:
			return fmt.Errorf("installations[%d]: clientId %q is not an app", i, in.ClientID)
		case len(in.AccessToken) < 16:
			return fmt.Errorf("installations[%d]: accessToken must be at least 16 characters", i)
		}
		for _, sc := range in.Scopes {
			if !slices.Contains(KnownScopes, sc) {
				return fmt.Errorf("installations[%d]: scope %q is not one of %v", i, sc, KnownScopes)
			}
		}
	}
	for i, p := range c.Payments {
		if !shops[p.ShopID] || !apps[p.ClientID] {
			return fmt.Errorf("payments[%d]: shopId %q and clientId %q must name a shop and an app", i, p.ShopID, p.ClientID)
		}
		if _, err := p.payment(time.Time{}); err != nil {
			return fmt.Errorf("payments[%d] (%s): %w", i, p.PaymentID, err)
		}
	}
	return nil
}

// checkApp validates an app as registered (config or admin API).
func checkApp(a App) error {
	if !idRE.MatchString(a.ClientID) {
		return errors.New("clientId: must be 1-64 letters, digits, '_' or '-'")
	}
	if len(a.ClientSecret) < 8 {
		return errors.New("clientSecret: must be at least 8 characters")
	}
	for _, sc := range a.Scopes {
		if !slices.Contains(KnownScopes, sc) {
			return fmt.Errorf("scopes: %q is not one of %v", sc, KnownScopes)
		}
	}
	for name, u := range a.Endpoints.byName() {
		if u == "" {
			continue
		}
		if err := checkURL(u); err != nil {
			return fmt.Errorf("endpoints.%s: %w", name, err)
		}
	}
	if a.PublicKey != "" {
		if _, err := ecies.ParsePublicKey(a.PublicKey); err != nil {
			return errors.New("publicKey: must be a P-256 public key as base64 X.509 SPKI DER")
		}
	}
	return nil
}

func (e Endpoints) byName() map[string]string {
	return map[string]string{
		"onboardingUrl": e.OnboardingURL, "paymentUrl": e.PaymentURL, "captureUrl": e.CaptureURL,
		"voidUrl": e.VoidURL, "refundUrl": e.RefundURL, "paymentQueryUrl": e.PaymentQueryURL, "refundQueryUrl": e.RefundQueryURL,
	}
}

// checkURL accepts absolute http(s) URLs without a fragment; the signing
// parameters must be left to Genstore.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be an absolute http or https URL")
	}
	if u.Fragment != "" {
		return errors.New("must not have a fragment")
	}
	q := u.Query()
	for _, k := range []string{"shop", "shopId", "timestamp", "hmac"} {
		if q.Has(k) {
			return fmt.Errorf("must not carry the query parameter %s (Genstore adds it when it signs)", k)
		}
	}
	return nil
}

// checkShop validates a shop.
func checkShop(s Shop) error {
	switch {
	case !idRE.MatchString(s.ShopID):
		return errors.New("shopId: must be 1-64 letters, digits, '_' or '-'")
	case !handleRE.MatchString(s.Handle):
		return errors.New("shop: must be 1-63 lower-case letters, digits or '-', starting with a letter or digit")
	case s.FeePlan.PercentBasisPoints < 0 || s.FeePlan.PercentBasisPoints > 10000:
		return errors.New("feePlan.percentBasisPoints: must be between 0 and 10000 (0-100 %)")
	case s.FeePlan.FixedMinor < 0:
		return errors.New("feePlan.fixedMinor: must not be negative")
	}
	if _, ok := money.Exponent(s.Currency); !ok {
		return fmt.Errorf("currency: %q is not an ISO-4217 code", s.Currency)
	}
	if s.Timezone != "" {
		if _, err := time.LoadLocation(s.Timezone); err != nil {
			return fmt.Errorf("timezone: %q is not an IANA time zone", s.Timezone)
		}
	}
	return nil
}

// payment builds the stored payment of a fixture, as if its callbacks had
// come: a payment in 2, 3 or 4 carries its result, a successful one its
// capture; operations that are still processing wait for their callback.
func (p PaymentFixture) payment(now time.Time) (Payment, error) {
	if !idRE.MatchString(p.PaymentID) {
		return Payment{}, errors.New("paymentId: must be 1-64 letters, digits, '_' or '-'")
	}
	amount, err := money.ParsePositive(p.Amount, p.Currency)
	if err != nil {
		return Payment{}, fmt.Errorf("amount: %w", err)
	}
	status := Status(p.Status)
	if status == 0 {
		status = StatusProcessing
	}
	pay := Payment{
		ShopID: p.ShopID, PaymentID: p.PaymentID, ClientID: p.ClientID, OutOrderNo: p.OutOrderNo,
		Amount: amount, Currency: p.Currency, ManualCapture: p.ManualCapture, Status: status, CreatedAt: now,
		Request: Outbound{State: DeliveryDelivered, IdempotencyKey: p.PaymentID}, Fixture: true,
	}
	if pay.OutOrderNo == "" {
		pay.OutOrderNo = p.PaymentID
	}
	if p.ChannelPaymentID != "" {
		pay.Ack = &Ack{ChannelID: p.ChannelPaymentID, At: now}
	}
	switch status {
	case StatusProcessing:
	case StatusSuccess, StatusAuthVoid, StatusAuthSuccess, StatusFailure:
		manual := status == StatusAuthSuccess || status == StatusAuthVoid
		if manual && !p.ManualCapture {
			return Payment{}, fmt.Errorf("status %d needs manualCapture: true", status)
		}
		pay.Result = &Result{Result: status != StatusFailure, ChannelID: p.ChannelPaymentID, At: now, Source: SourceFixture}
		if status == StatusFailure {
			pay.Result.Reason = "declined (sample data)"
		}
		if status == StatusSuccess {
			pay.CapturedMinor = amount
			at := now
			if p.SuccessPaymentTime != "" {
				t, err := time.Parse(time.RFC3339, p.SuccessPaymentTime)
				if err != nil {
					return Payment{}, errors.New("successPaymentTime: must be RFC 3339 with an offset")
				}
				at = t
			}
			pay.SuccessAt = &at
		}
	default:
		return Payment{}, fmt.Errorf("status: %d is not one of 1, 2, 3, 4, 9", p.Status)
	}
	for i, o := range p.Operations {
		op, err := o.operation(pay, now)
		if err != nil {
			return Payment{}, fmt.Errorf("operations[%d]: %w", i, err)
		}
		pay.Operations = append(pay.Operations, op)
		switch {
		case op.Kind == KindCapture && op.Status == OpSucceeded:
			pay.CapturedMinor = op.Amount
		case op.Kind == KindRefund && op.Status == OpSucceeded:
			pay.RefundedMinor += op.Amount
		}
	}
	if pay.RefundedMinor > pay.CapturedMinor || pay.refundable() < 0 {
		return Payment{}, errors.New("operations: refunds exceed the captured amount")
	}
	return pay, nil
}

func (o OperationFixture) operation(p Payment, now time.Time) (Operation, error) {
	if !idRE.MatchString(o.ID) {
		return Operation{}, errors.New("id: must be 1-64 letters, digits, '_' or '-'")
	}
	op := Operation{Kind: o.Kind, ID: o.ID, Status: o.Status, CreatedAt: now,
		Request: Outbound{State: DeliveryDelivered, IdempotencyKey: o.ID}}
	if op.Status == "" {
		op.Status = OpProcessing
	}
	if op.Status != OpProcessing && op.Status != OpSucceeded && op.Status != OpFailed {
		return Operation{}, fmt.Errorf("status: %q is not processing, succeeded or failed", o.Status)
	}
	switch o.Kind {
	case KindCapture, KindVoid:
		if !p.ManualCapture {
			return Operation{}, fmt.Errorf("a %s needs a manualCapture payment", o.Kind)
		}
		if op.Status == OpProcessing && p.Status != StatusAuthSuccess {
			return Operation{}, fmt.Errorf("a processing %s needs a payment in status 4", o.Kind)
		}
	case KindRefund:
		if p.Status != StatusSuccess {
			return Operation{}, errors.New("a refund needs a payment in status 2")
		}
	default:
		return Operation{}, fmt.Errorf("kind: %q is not capture, void or refund", o.Kind)
	}
	if o.Kind != KindVoid {
		text := o.Amount
		if text == "" {
			text = money.Format(p.Amount, p.Currency)
		}
		amount, err := money.ParsePositive(text, p.Currency)
		if err != nil {
			return Operation{}, fmt.Errorf("amount: %w", err)
		}
		op.Amount = amount
	}
	if o.ChannelID != "" {
		op.Ack = &Ack{ChannelID: o.ChannelID, At: now}
	}
	if op.Status != OpProcessing {
		op.Result = &Result{Result: op.Status == OpSucceeded, ChannelID: o.ChannelID, At: now, Source: SourceFixture}
	}
	return op, nil
}
