package conformance

import (
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pspsim/pspsim/simulator/ecies"
	"github.com/pspsim/pspsim/simulator/genstore"
)

// AppConfig is app.yaml: how the suite knows the app under test.
//
//	name: my payment app
//	clientId: my-app
//	clientSecret: ...
//	scopes: [write_payment, read_payments_transaction, write_payments_transaction]
//	endpoints: {onboardingUrl, paymentUrl, captureUrl, voidUrl, refundUrl, paymentQueryUrl, refundQueryUrl}
//	eciesPublicKey: <base64 SPKI DER of the app's P-256 key>
//	psp:
//	  system: vmgateway         # or codepay
//	  sandbox: {appId, secret}  # codepay: {appId, merchantNo, publicKey}
//	  live: {appId, secret}
//	start:                      # optional: the runner starts the app
//	  command: [go, run, ./cmd/myapp]
//	  dir: ../..                # relative to app.yaml; default: the current directory
//	  env: {NAME: value}
//	  readyUrl: http://127.0.0.1:7401/healthz
//	  readyTimeout: 2m
//	suite:                      # optional: the suite's patience
//	  resultWait: 10s
//	  quiet: 300ms
//	  requestTimeout: 3s
type AppConfig struct {
	Name           string             `yaml:"name"`
	ClientID       string             `yaml:"clientId"`
	ClientSecret   string             `yaml:"clientSecret"`
	Scopes         []string           `yaml:"scopes"`
	Endpoints      genstore.Endpoints `yaml:"endpoints"`
	ECIESPublicKey string             `yaml:"eciesPublicKey"`
	PSP            PSPConfig          `yaml:"psp"`
	Start          *StartConfig       `yaml:"start"`
	Suite          SuiteSettings      `yaml:"suite"`

	// dir is the directory app.yaml was read from (start.dir is relative to it).
	dir string
}

// PSPConfig names the PSP the app uses and its credentials in each
// environment. The suite judges test-mode routing from the PSP's records of
// which environment each operation ran in; the credentials let it tell the
// app's operations from anyone else's.
type PSPConfig struct {
	System  string      `yaml:"system"`
	Sandbox Credentials `yaml:"sandbox"`
	Live    Credentials `yaml:"live"`
}

// Credentials are one environment's PSP credentials. The card gateway's are
// an appId and its secret. CodePay's are an app id, the merchant the app
// charges for and, optionally, the app's RSA public key (PEM) for that
// environment: the runner registers it with the sandbox's CodePay, where
// the key a request is signed with decides its environment (without one,
// the app id must be one CodePay already knows, as the fixtures' are).
type Credentials struct {
	AppID      string `yaml:"appId"`
	Secret     string `yaml:"secret"`
	MerchantNo string `yaml:"merchantNo"`
	PublicKey  string `yaml:"publicKey"`
}

// StartConfig says how to start the app. The runner adds the sandbox's URLs
// to env: PSPSIM_URL, GENSTORE_URL, VMGATEWAY_URL, CODEPAY_URL. It waits until
// ReadyURL answers 2xx or, without one, until endpoints.paymentUrl's host and
// port take a TCP connection — at most ReadyTimeout (default 2m).
type StartConfig struct {
	Command      []string          `yaml:"command"`
	Dir          string            `yaml:"dir"`
	Env          map[string]string `yaml:"env"`
	ReadyURL     string            `yaml:"readyUrl"`
	ReadyTimeout Duration          `yaml:"readyTimeout"`
}

// SuiteSettings tune the suite's patience for an app. Zero values take the
// defaults of DefaultTiming.
type SuiteSettings struct {
	// ResultWait is how long (wall time) the suite waits for a callback it
	// expects before it judges the result missing.
	ResultWait Duration `yaml:"resultWait"`
	// Quiet is how long nothing must happen before the suite accepts that
	// nothing more will (no second callback after a contradicting webhook).
	Quiet Duration `yaml:"quiet"`
	// RequestTimeout is how long Genstore waits for an acknowledgement
	// before it retries (docs/CONTRACT.md §2 says 10 s). The suite's default is
	// shorter, so that a timeout can be provoked quickly; an app that takes
	// longer to acknowledge can raise it.
	RequestTimeout Duration `yaml:"requestTimeout"`
}

// Duration is a time.Duration written as a Go duration string in YAML.
type Duration time.Duration

// UnmarshalYAML reads "10s", "1m30s".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration like 10s or 1m30s", s)
	}
	*d = Duration(v)
	return nil
}

// Std returns the time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// LoadAppConfig reads and checks app.yaml.
func LoadAppConfig(path string) (AppConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return AppConfig{}, fmt.Errorf("app config: %w", err)
	}
	c, err := ParseAppConfig(b)
	if err != nil {
		return AppConfig{}, fmt.Errorf("%s: %w", path, err)
	}
	abs, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return AppConfig{}, fmt.Errorf("app config: %w", err)
	}
	c.dir = abs
	return c, nil
}

// ParseAppConfig reads app.yaml from bytes and checks it.
func ParseAppConfig(b []byte) (AppConfig, error) {
	var c AppConfig
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("app config: %w", err)
	}
	return c, c.Check()
}

// Check reports everything wrong with the configuration at once, naming the
// fields.
func (c AppConfig) Check() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, args...)...))
	}
	if c.ClientID == "" {
		bad("clientId", "is required")
	}
	if c.ClientSecret == "" {
		bad("clientSecret", "is required")
	}
	for name, u := range map[string]string{
		"endpoints.onboardingUrl": c.Endpoints.OnboardingURL, "endpoints.paymentUrl": c.Endpoints.PaymentURL,
		"endpoints.captureUrl": c.Endpoints.CaptureURL, "endpoints.voidUrl": c.Endpoints.VoidURL,
		"endpoints.refundUrl": c.Endpoints.RefundURL, "endpoints.paymentQueryUrl": c.Endpoints.PaymentQueryURL,
		"endpoints.refundQueryUrl": c.Endpoints.RefundQueryURL,
	} {
		if u == "" {
			bad(name, "is required (the suite exercises every endpoint of docs/CONTRACT.md §2)")
			continue
		}
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			bad(name, "%q is not an absolute http(s) URL", u)
		}
	}
	if c.ECIESPublicKey == "" {
		bad("eciesPublicKey", "is required (base64 X.509 SPKI DER of the app's P-256 key)")
	} else if _, err := ecies.ParsePublicKey(c.ECIESPublicKey); err != nil {
		bad("eciesPublicKey", "is not a base64 SPKI DER P-256 public key")
	}
	switch c.PSP.System {
	case "vmgateway":
		if c.PSP.Sandbox.AppID == "" || c.PSP.Sandbox.Secret == "" {
			bad("psp.sandbox", "appId and secret are required")
		}
		if c.PSP.Live.AppID == "" || c.PSP.Live.Secret == "" {
			bad("psp.live", "appId and secret are required")
		}
	case "codepay":
		for name, cr := range map[string]Credentials{"psp.sandbox": c.PSP.Sandbox, "psp.live": c.PSP.Live} {
			if cr.AppID == "" || cr.MerchantNo == "" {
				bad(name, "appId and merchantNo are required")
			}
			if cr.PublicKey != "" {
				if b, _ := pem.Decode([]byte(cr.PublicKey)); b == nil {
					bad(name+".publicKey", "is not a PEM public key")
				}
			}
		}
		if s, l := c.PSP.Sandbox, c.PSP.Live; s.AppID != "" && s.AppID == l.AppID && s.MerchantNo != l.MerchantNo {
			bad("psp.live.merchantNo", "one CodePay app id serves one set of merchants in both environments: use the sandbox's merchantNo")
		}
	case "":
		bad("psp.system", "is required: vmgateway (the Visa/Mastercard gateway) or codepay")
	default:
		bad("psp.system", "%q: the suite judges apps of the card gateway (vmgateway) and of CodePay (codepay)", c.PSP.System)
	}
	if s := c.Start; s != nil {
		if len(s.Command) == 0 {
			bad("start.command", "is required when start is given")
		}
		if p, err := url.Parse(s.ReadyURL); s.ReadyURL != "" && (err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "") {
			bad("start.readyUrl", "%q is not an absolute http(s) URL", s.ReadyURL)
		}
	}
	return errors.Join(errs...)
}

// Registration is the body of registerGenstoreApp for this app.
func (c AppConfig) Registration() map[string]any {
	scopes := c.Scopes
	if len(scopes) == 0 {
		scopes = genstore.KnownScopes
	}
	name := c.Name
	if name == "" {
		name = c.ClientID
	}
	return map[string]any{"clientId": c.ClientID, "clientSecret": c.ClientSecret, "name": name, "scopes": scopes,
		"publicKey": c.ECIESPublicKey, "endpoints": c.Endpoints}
}

// StartDir is the directory the start command runs in.
func (c AppConfig) StartDir() string {
	if c.Start == nil || c.Start.Dir == "" {
		return ""
	}
	if filepath.IsAbs(c.Start.Dir) || c.dir == "" {
		return c.Start.Dir
	}
	return filepath.Join(c.dir, c.Start.Dir)
}
