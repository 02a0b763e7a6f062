package codepay

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pspsim/pspsim/fixtures"
	"github.com/pspsim/pspsim/simulator/store"
)

// Environments an app's credentials belong to.
const (
	Sandbox = "sandbox"
	Live    = "live"
)

// Credentials are one environment's way for an app to prove itself: the RSA
// public key registered for sign_type=RSA2, and the Basic password for
// sign_type=NONE.
type Credentials struct {
	PublicKeyPEM  string `json:"publicKeyPem,omitempty"`
	BasicPassword string `json:"basicPassword,omitempty"`
}

// App is a developer's application registered with the gateway.
type App struct {
	AppID     string      `json:"appId"`
	Merchants []string    `json:"merchants"`
	Sandbox   Credentials `json:"sandbox"`
	Live      Credentials `json:"live"`
}

// ActsFor reports whether the app may act for a merchant.
func (a App) ActsFor(merchantNo string) bool { return slices.Contains(a.Merchants, merchantNo) }

// Store is a merchant's shop and the terminals bound to it.
type Store struct {
	StoreNo   string   `json:"storeNo"`
	Terminals []string `json:"terminals"`
}

// Merchant is an acquiring merchant with its stores.
type Merchant struct {
	MerchantNo string  `json:"merchantNo"`
	Name       string  `json:"name,omitempty"`
	Stores     []Store `json:"stores"`
	// ThreeDSUnavailable is what merchant-hosted checkout does when 3-D
	// Secure is unavailable: "fail" (default) or "proceed".
	ThreeDSUnavailable string `json:"threeDSUnavailable,omitempty"`
}

// storeOf returns the store that holds terminal sn, if any.
func (m Merchant) storeOf(sn string) (string, bool) {
	for _, st := range m.Stores {
		for _, t := range st.Terminals {
			if t == sn {
				return st.StoreNo, true
			}
		}
	}
	return "", false
}

func (m Merchant) hasStore(storeNo string) bool {
	for _, st := range m.Stores {
		if st.StoreNo == storeNo {
			return true
		}
	}
	return false
}

// section is the YAML of fixtures/codepay.yaml and of the `codepay:` section
// of --config.
type section struct {
	Gateway struct {
		PrivateKeyFile string `yaml:"privateKeyFile"`
		PrivateKey     string `yaml:"privateKey"`
	} `yaml:"gateway"`
	Apps []struct {
		AppID     string   `yaml:"appId"`
		Merchants []string `yaml:"merchants"`
		Sandbox   credYAML `yaml:"sandbox"`
		Live      credYAML `yaml:"live"`
	} `yaml:"apps"`
	Merchants []struct {
		MerchantNo         string `yaml:"merchantNo"`
		Name               string `yaml:"name"`
		ThreeDSUnavailable string `yaml:"threeDSUnavailable"`
		Stores             []struct {
			StoreNo   string   `yaml:"storeNo"`
			Terminals []string `yaml:"terminals"`
		} `yaml:"stores"`
	} `yaml:"merchants"`
}

type credYAML struct {
	PublicKeyFile string `yaml:"publicKeyFile"`
	PublicKey     string `yaml:"publicKey"`
	BasicPassword string `yaml:"basicPassword"`
}

// reader reads a key file named in a section: fixtures read their embedded
// files, --config reads the disk.
type reader func(name string) ([]byte, error)

func readFixture(name string) ([]byte, error) { return fixtures.Read(name) }

func readDisk(name string) ([]byte, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return b, nil
}

func parseSection(raw []byte, node *yaml.Node) (section, error) {
	var sec section
	if node != nil {
		if err := node.Decode(&sec); err != nil {
			return sec, fmt.Errorf("codepay config: %w", err)
		}
		return sec, nil
	}
	if err := yaml.Unmarshal(raw, &sec); err != nil {
		return sec, fmt.Errorf("codepay fixtures: %w", err)
	}
	return sec, nil
}

func (c credYAML) resolve(read reader, where string) (Credentials, error) {
	out := Credentials{BasicPassword: c.BasicPassword}
	text := c.PublicKey
	if c.PublicKeyFile != "" {
		b, err := read(c.PublicKeyFile)
		if err != nil {
			return out, fmt.Errorf("%s: %w", where, err)
		}
		text = string(b)
	}
	if strings.TrimSpace(text) == "" {
		if out.BasicPassword == "" {
			return out, fmt.Errorf("%s: needs publicKey, publicKeyFile or basicPassword", where)
		}
		return out, nil
	}
	pub, err := ParsePublicKey([]byte(text))
	if err != nil {
		return out, fmt.Errorf("%s: %w", where, err)
	}
	if pub.N.BitLen() < 2048 {
		return out, fmt.Errorf("%s: RSA key of %d bits; CodePay's RSA2 needs at least 2048", where, pub.N.BitLen())
	}
	pemText, err := publicKeyPEM(pub)
	if err != nil {
		return out, fmt.Errorf("%s: %w", where, err)
	}
	out.PublicKeyPEM = pemText
	return out, nil
}

// gatewayKey returns the section's gateway private key, or nil when the
// section does not set one.
func (sec section) gatewayKey(read reader) (*rsa.PrivateKey, error) {
	text := sec.Gateway.PrivateKey
	if sec.Gateway.PrivateKeyFile != "" {
		b, err := read(sec.Gateway.PrivateKeyFile)
		if err != nil {
			return nil, fmt.Errorf("codepay gateway key: %w", err)
		}
		text = string(b)
	}
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	k, err := ParsePrivateKey([]byte(text))
	if err != nil {
		return nil, fmt.Errorf("codepay gateway key: %w", err)
	}
	return k, nil
}

// load stores the section's apps, merchants and terminals (a later section
// replaces an earlier one's objects of the same id).
func (s *System) load(ctx context.Context, sec section, read reader, origin string) error {
	for i, a := range sec.Apps {
		where := fmt.Sprintf("%s: apps[%d]", origin, i)
		if a.AppID == "" {
			return fmt.Errorf("%s: appId is required", where)
		}
		sb, err := a.Sandbox.resolve(read, where+".sandbox")
		if err != nil {
			return err
		}
		lv := Credentials{}
		if a.Live != (credYAML{}) {
			if lv, err = a.Live.resolve(read, where+".live"); err != nil {
				return err
			}
		}
		if err := s.putApp(ctx, App{AppID: a.AppID, Merchants: a.Merchants, Sandbox: sb, Live: lv}); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
	}
	for i, m := range sec.Merchants {
		where := fmt.Sprintf("%s: merchants[%d]", origin, i)
		mer := Merchant{MerchantNo: m.MerchantNo, Name: m.Name, ThreeDSUnavailable: m.ThreeDSUnavailable}
		for _, st := range m.Stores {
			mer.Stores = append(mer.Stores, Store{StoreNo: st.StoreNo, Terminals: st.Terminals})
		}
		if err := s.putMerchant(ctx, mer); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
	}
	return nil
}

// putApp creates or replaces an app.
func (s *System) putApp(ctx context.Context, a App) error {
	if a.AppID == "" || len(a.AppID) > 32 {
		return errors.New("appId: 1 to 32 characters")
	}
	if a.Sandbox == (Credentials{}) && a.Live == (Credentials{}) {
		return errors.New("the app needs sandbox or live credentials")
	}
	if a.Merchants == nil {
		a.Merchants = []string{}
	}
	err := s.apps.Create(ctx, a.AppID, a)
	if errors.Is(err, store.ErrExists) {
		_, err = s.apps.Update(ctx, a.AppID, func(cur *App) error { *cur = a; return nil })
	}
	return err
}

// putMerchant creates or replaces a merchant and makes sure each of its
// terminals exists and is bound to it.
func (s *System) putMerchant(ctx context.Context, m Merchant) error {
	if m.MerchantNo == "" || len(m.MerchantNo) > 32 {
		return errors.New("merchantNo: 1 to 32 characters")
	}
	switch m.ThreeDSUnavailable {
	case "", "fail", "proceed":
	default:
		return fmt.Errorf("threeDSUnavailable: must be fail or proceed, not %q", m.ThreeDSUnavailable)
	}
	if m.Stores == nil {
		m.Stores = []Store{}
	}
	seen := map[string]string{}
	for _, st := range m.Stores {
		if st.StoreNo == "" || len(st.StoreNo) > 32 {
			return errors.New("storeNo: 1 to 32 characters")
		}
		for _, sn := range st.Terminals {
			if sn == "" || len(sn) > 32 {
				return errors.New("terminal serial number: 1 to 32 characters")
			}
			if other, dup := seen[sn]; dup {
				return fmt.Errorf("terminal %s is listed in stores %s and %s of one merchant", sn, other, st.StoreNo)
			}
			seen[sn] = st.StoreNo
		}
	}
	err := s.merchants.Create(ctx, m.MerchantNo, m)
	if errors.Is(err, store.ErrExists) {
		_, err = s.merchants.Update(ctx, m.MerchantNo, func(cur *Merchant) error { *cur = m; return nil })
	}
	if err != nil {
		return err
	}
	for _, st := range m.Stores {
		for _, sn := range st.Terminals {
			if err := s.ensureTerminal(ctx, sn); err != nil {
				return err
			}
		}
	}
	return nil
}

// ensureTerminal creates a terminal (online, empty queue) unless it exists.
func (s *System) ensureTerminal(ctx context.Context, sn string) error {
	err := s.terminals.Create(ctx, sn, Terminal{SN: sn, Online: true, Queue: []string{}, OpenBatch: map[string]string{}, Since: s.env.Clock.Now()})
	if errors.Is(err, store.ErrExists) {
		return nil
	}
	return err
}

// parseDuration reads a duration written as Go text in admin bodies and
// forms (empty is zero).
func parseDuration(text string) (time.Duration, error) {
	if text == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(text)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("must be a non-negative Go duration such as 5s or 1m30s")
	}
	return d, nil
}
