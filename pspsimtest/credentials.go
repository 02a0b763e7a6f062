package pspsimtest

import (
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/pspsim/pspsim/fixtures"
)

// Credentials are what a payment app needs to talk to each emulated system
// in the sandbox environment, from the fixtures.
type Credentials struct {
	Genstore GenstoreCredentials
	CodePay  CodePayCredentials
	Gateway  GatewayCredentials
}

// GenstoreCredentials: the demo payment app, installed on shop ShopID
// with AccessToken (so that callbacks work without the OAuth dance).
type GenstoreCredentials struct {
	ClientID, ClientSecret string
	ShopID, AccessToken    string
}

// CodePayCredentials: an app, a merchant it may act for with a store and a
// terminal, the app's RSA private key (PEM) that requests are signed with,
// and the gateway's public key (PEM) that answers and notifications verify
// with.
type CodePayCredentials struct {
	AppID, MerchantNo, StoreNo, TerminalSN string
	PrivateKeyPEM, GatewayPublicKeyPEM     []byte
}

// GatewayCredentials: the card gateway app's id and sandbox secret
// (POST /v1/auth/token) and its merchant.
type GatewayCredentials struct {
	AppID, Secret, MerchantID string
}

// fixtureCredentials reads the first app, shop, merchant and terminal of
// each system's fixtures.
func fixtureCredentials() (Credentials, error) {
	var c Credentials
	var gs struct {
		Apps []struct {
			ClientID     string `yaml:"clientId"`
			ClientSecret string `yaml:"clientSecret"`
		} `yaml:"apps"`
		Installations []struct {
			ShopID      string `yaml:"shopId"`
			ClientID    string `yaml:"clientId"`
			AccessToken string `yaml:"accessToken"`
		} `yaml:"installations"`
	}
	var cp struct {
		Apps []struct {
			AppID     string   `yaml:"appId"`
			Merchants []string `yaml:"merchants"`
		} `yaml:"apps"`
		Merchants []struct {
			MerchantNo string `yaml:"merchantNo"`
			Stores     []struct {
				StoreNo   string   `yaml:"storeNo"`
				Terminals []string `yaml:"terminals"`
			} `yaml:"stores"`
		} `yaml:"merchants"`
	}
	var vm struct {
		Apps []struct {
			AppID         string `yaml:"appId"`
			MerchantID    string `yaml:"merchantId"`
			SandboxSecret string `yaml:"sandboxSecret"`
		} `yaml:"apps"`
	}
	for name, dst := range map[string]any{"genstore.yaml": &gs, "codepay.yaml": &cp, "vmgateway.yaml": &vm} {
		b, err := fixtures.Read(name)
		if err != nil {
			return c, err
		}
		if err := yaml.Unmarshal(b, dst); err != nil {
			return c, fmt.Errorf("%s: %w", name, err)
		}
	}
	if len(gs.Apps) == 0 || len(gs.Installations) == 0 || len(cp.Apps) == 0 || len(vm.Apps) == 0 {
		return c, fmt.Errorf("the fixtures lack an app or an installation")
	}
	c.Genstore = GenstoreCredentials{ClientID: gs.Apps[0].ClientID, ClientSecret: gs.Apps[0].ClientSecret}
	for _, in := range gs.Installations {
		if in.ClientID == c.Genstore.ClientID {
			c.Genstore.ShopID, c.Genstore.AccessToken = in.ShopID, in.AccessToken
			break
		}
	}
	c.CodePay.AppID = cp.Apps[0].AppID
	// The first merchant of the app that has a store with a terminal.
	for _, m := range cp.Merchants {
		if c.CodePay.TerminalSN != "" {
			break
		}
		for _, mine := range cp.Apps[0].Merchants {
			if m.MerchantNo != mine {
				continue
			}
			for _, st := range m.Stores {
				if len(st.Terminals) > 0 {
					c.CodePay.MerchantNo, c.CodePay.StoreNo, c.CodePay.TerminalSN = m.MerchantNo, st.StoreNo, st.Terminals[0]
					break
				}
			}
		}
	}
	var err error
	if c.CodePay.PrivateKeyPEM, err = fixtures.Read("keys/codepay-app-demo.pem"); err != nil {
		return c, err
	}
	if c.CodePay.GatewayPublicKeyPEM, err = fixtures.Read("keys/codepay-gateway.pub.pem"); err != nil {
		return c, err
	}
	c.Gateway = GatewayCredentials{AppID: vm.Apps[0].AppID, Secret: vm.Apps[0].SandboxSecret, MerchantID: vm.Apps[0].MerchantID}
	return c, nil
}
