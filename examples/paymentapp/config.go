package paymentapp

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Credentials are one environment's card-gateway credentials (specs/vmgateway.yaml,
// createAccessToken). The environment — sandbox or live — is decided by the gateway from
// the credentials themselves.
type Credentials struct {
	AppID  string
	Secret string
}

func (c Credentials) set() bool { return c.AppID != "" && c.Secret != "" }

// Config is everything the app needs. Only the URLs, the Genstore client credentials and
// the ECIES key are required; the rest has defaults.
type Config struct {
	// GenstoreURL is Genstore's base URL, e.g. http://127.0.0.1:7357/genstore. The real
	// platform has one host per shop; a "{shop}" in the URL is replaced by the shop's name.
	GenstoreURL string
	// ClientID and ClientSecret are the app's registration with Genstore (CONTRACT.md §1).
	// The secret also keys the hmac of every request Genstore sends (§2).
	ClientID     string
	ClientSecret string
	// ECIESPrivateKey is the app's long-term P-256 key (§5): PKCS#8, as PEM or as base64 DER.
	ECIESPrivateKey string

	// PSP is the PSP the app charges cards with: PSPCardGateway ("vmgateway", the default)
	// or PSPCodePay ("codepay").
	PSP string

	// GatewayURL is the card gateway's base URL, e.g. http://127.0.0.1:7357/vm.
	GatewayURL string
	// Sandbox credentials process test:true requests, Live ones test:false (§6).
	Sandbox Credentials
	Live    Credentials

	// CodePay is the app's CodePay account, with PSP "codepay".
	CodePay CodePayConfig

	// PublicURL is where Genstore, the gateway and buyers' browsers reach this app, e.g.
	// http://127.0.0.1:7401. It builds the 3-D Secure return URL and the webhook URL.
	PublicURL string

	// Clock gives the time used for signature windows and records. Default time.Now.
	Clock func() time.Time
	// HTTPClient makes every outgoing call. Default: a client with no overall timeout;
	// each call gets its own deadline.
	HTTPClient *http.Client
	// Logger receives the app's log. Default: text on stderr.
	Logger *slog.Logger
	// Store keeps the app's state. Default: NewMemoryStore().
	Store Store

	// Bugs switches on deliberate mistakes (bugs.go). Empty for the correct app.
	Bugs []Bug

	// PSPTimeout bounds one call to the gateway. It must leave room to acknowledge
	// Genstore within its 10 s (§2). Default 5 s.
	PSPTimeout time.Duration
	// CallbackBackoff is the wait before each retry of a callback answered 5xx, 408 or
	// 429 or not answered at all; the last entry repeats until CallbackAttempts.
	// Default 250ms, 500ms, 1s, 2s, 5s, 10s, 30s, 1m, 5m.
	CallbackBackoff []time.Duration
	// CallbackAttempts caps the attempts of one callback. Default 20.
	CallbackAttempts int
	// ReconcileBackoff is the wait before each inquiry at the gateway while an operation
	// is not final (pending, waiting for the buyer, or unanswered); the last entry repeats.
	// Default 1s, 2s, 5s, 10s, 30s, 1m, 5m, 15m, 1h.
	ReconcileBackoff []time.Duration
	// ReconcileAttempts caps the inquiries for one operation. Default 60.
	ReconcileAttempts int
	// SignatureWindow is how far a signed timestamp may be from Clock. Default 300 s (§2).
	SignatureWindow time.Duration
}

// Defaults for the optional settings.
var (
	defaultCallbackBackoff = []time.Duration{
		250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second,
		5 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute,
	}
	defaultReconcileBackoff = []time.Duration{
		time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second,
		time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour,
	}
)

// withDefaults returns the configuration with every optional setting filled in, or an
// error naming what is missing or malformed.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	need := func(name, v string) {
		if strings.TrimSpace(v) == "" {
			errs = append(errs, fmt.Errorf("%s is required", name))
		}
	}
	need("GenstoreURL", c.GenstoreURL)
	need("ClientID", c.ClientID)
	need("ClientSecret", c.ClientSecret)
	need("ECIESPrivateKey", c.ECIESPrivateKey)
	need("PublicURL", c.PublicURL)
	urls := map[string]string{"GenstoreURL": c.GenstoreURL, "PublicURL": c.PublicURL}
	switch c.PSP {
	case "", PSPCardGateway:
		c.PSP = PSPCardGateway
		need("GatewayURL", c.GatewayURL)
		urls["GatewayURL"] = c.GatewayURL
		if !c.Sandbox.set() && !c.Live.set() {
			errs = append(errs, errors.New("at least one of Sandbox and Live gateway credentials is required"))
		}
	case PSPCodePay:
		need("CodePay.URL", c.CodePay.URL)
		need("CodePay.AppID", c.CodePay.AppID)
		need("CodePay.MerchantNo", c.CodePay.MerchantNo)
		need("CodePay.GatewayKey", c.CodePay.GatewayKey)
		urls["CodePay.URL"] = c.CodePay.URL
		if strings.TrimSpace(c.CodePay.SandboxKey) == "" && strings.TrimSpace(c.CodePay.LiveKey) == "" {
			errs = append(errs, errors.New("at least one of CodePay.SandboxKey and CodePay.LiveKey is required"))
		}
	default:
		errs = append(errs, fmt.Errorf("PSP must be %q or %q, got %q", PSPCardGateway, PSPCodePay, c.PSP))
	}
	for name, v := range urls {
		if v == "" {
			continue
		}
		u, err := url.Parse(strings.ReplaceAll(v, "{shop}", "shop"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s must be an absolute http(s) URL, got %q", name, v))
		}
	}
	c.GenstoreURL = strings.TrimRight(c.GenstoreURL, "/")
	c.GatewayURL = strings.TrimRight(c.GatewayURL, "/")
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	// The gateway takes a frontUrl of at most 128 characters and a subscribeUrl of at most
	// 156; our longest are PublicURL + "/return/" + 22 characters and + "/webhooks/vm/sandbox".
	if len(c.PublicURL)+len("/return/")+returnTokenLen > 128 {
		errs = append(errs, fmt.Errorf("PublicURL is too long for the gateway's frontUrl (at most %d characters)", 128-len("/return/")-returnTokenLen))
	}
	if len(errs) > 0 {
		return c, errors.Join(errs...)
	}

	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if c.Store == nil {
		c.Store = NewMemoryStore()
	}
	if c.PSPTimeout <= 0 {
		c.PSPTimeout = 5 * time.Second
	}
	if len(c.CallbackBackoff) == 0 {
		c.CallbackBackoff = defaultCallbackBackoff
	}
	if c.CallbackAttempts <= 0 {
		c.CallbackAttempts = 20
	}
	if len(c.ReconcileBackoff) == 0 {
		c.ReconcileBackoff = defaultReconcileBackoff
	}
	if c.ReconcileAttempts <= 0 {
		c.ReconcileAttempts = 60
	}
	if c.SignatureWindow <= 0 {
		c.SignatureWindow = 300 * time.Second
	}
	return c, nil
}

// backoff returns the i-th wait of a schedule (0-based); the last entry repeats.
func backoff(schedule []time.Duration, i int) time.Duration {
	if i >= len(schedule) {
		i = len(schedule) - 1
	}
	return schedule[i]
}
