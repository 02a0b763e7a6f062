package codepay

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/pspsim/pspsim/simulator/admin"
	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/openapi"
)

// AdminHandlers returns the handlers of the admin operations this system
// owns (specs/admin.yaml, codepay region). They return their failure, which
// admin.HandlerFunc renders in the admin dialect (gateway codes mean nothing
// there: the dialect shows the kind, field and message).
func (s *System) AdminHandlers() map[string]http.Handler {
	return map[string]http.Handler{
		"getCodePayGatewayKey":      admin.HandlerFunc(s.adminGatewayKey),
		"listCodePayApps":           admin.HandlerFunc(s.adminListApps),
		"putCodePayApp":             admin.HandlerFunc(s.adminPutApp),
		"listCodePayMerchants":      admin.HandlerFunc(s.adminListMerchants),
		"putCodePayMerchant":        admin.HandlerFunc(s.adminPutMerchant),
		"getCodePayTerminal":        admin.HandlerFunc(s.adminGetTerminal),
		"actOnCodePayTerminal":      admin.HandlerFunc(s.adminAct),
		"setCodePayTerminalPilot":   admin.HandlerFunc(s.adminSetPilot),
		"clearCodePayTerminalPilot": admin.HandlerFunc(s.adminClearPilot),
		"getCodePayTransaction":     admin.HandlerFunc(s.adminGetTxn),
	}
}

// adminView answers an admin request with v, or returns err for
// admin.HandlerFunc to render.
func adminView(w http.ResponseWriter, v any, err error) error {
	if err != nil {
		return err
	}
	admin.WriteJSON(w, http.StatusOK, v)
	return nil
}

func pathParam(r *http.Request, name string) string {
	if req := openapi.FromContext(r.Context()); req != nil {
		return req.PathParams[name]
	}
	return ""
}

func adminBody(r *http.Request, v any) error {
	req := openapi.FromContext(r.Context())
	if req == nil || len(req.Body) == 0 {
		return nil
	}
	if err := json.Unmarshal(req.Body, v); err != nil {
		return apierr.New(apierr.Malformed, "request body: %v", err)
	}
	return nil
}

// adminGatewayKey publishes the gateway's public key: the
// gateway_rsa_public_key merchants verify answers and notifications with and
// encrypt pay.merchant.checkout cards to.
func (s *System) adminGatewayKey(w http.ResponseWriter, r *http.Request) error {
	pemText := string(s.GatewayPublicKeyPEM())
	b64 := strings.Join(strings.Split(strings.TrimSpace(pemText), "\n")[1:], "")
	b64 = strings.TrimSuffix(b64, "-----END PUBLIC KEY-----")
	if _, err := base64.StdEncoding.DecodeString(b64); err != nil {
		return fmt.Errorf("gateway public key: %w", err)
	}
	return adminView(w, map[string]any{
		"gateway_rsa_public_key": b64, "publicKeyPem": pemText, "algorithm": "RSA", "bits": s.GatewayPublicKey().N.BitLen(),
		"signType": "RSA2", "signature": "SHA256withRSA", "cardEncryption": "RSA PKCS#1 v1.5",
	}, nil)
}

func (s *System) adminListApps(w http.ResponseWriter, r *http.Request) error {
	apps, err := s.apps.List(r.Context(), nil)
	if err != nil {
		return fmt.Errorf("list apps: %w", err)
	}
	out := []AppView{}
	for _, a := range apps {
		out = append(out, appView(a))
	}
	return adminView(w, map[string]any{"apps": out}, nil)
}

type credIn struct {
	PublicKey     string `json:"publicKey"`
	BasicPassword string `json:"basicPassword"`
}

func (s *System) adminPutApp(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Merchants []string `json:"merchants"`
		Sandbox   *credIn  `json:"sandbox"`
		Live      *credIn  `json:"live"`
	}
	if err := adminBody(r, &in); err != nil {
		return err
	}
	a := App{AppID: pathParam(r, "appId"), Merchants: in.Merchants}
	for _, c := range []struct {
		field string
		in    *credIn
		out   *Credentials
	}{{"sandbox", in.Sandbox, &a.Sandbox}, {"live", in.Live, &a.Live}} {
		if c.in == nil {
			continue
		}
		cred, err := credYAML{PublicKey: c.in.PublicKey, BasicPassword: c.in.BasicPassword}.resolve(nil, c.field)
		if err != nil {
			return apierr.Field(apierr.Invalid, c.field+".publicKey", "key", "%v", err)
		}
		*c.out = cred
	}
	ctx := r.Context()
	for i, m := range a.Merchants {
		if _, err := s.merchants.Get(ctx, m); err != nil {
			return orAbsent(err, apierr.Field(apierr.Invalid, "merchants", "unknown", "merchants[%d]: no merchant %s (create it first)", i, m))
		}
	}
	if err := s.do(false, func(*effects) error { return s.putApp(ctx, a) }); err != nil {
		if u := apierr.Unavailability(err); u != nil {
			return u // not a 400 quoting the database's error
		}
		return apierr.Field(apierr.Invalid, "", "app", "%v", err)
	}
	s.env.Record(Name, "app.registered", "app "+a.AppID+" registered", map[string]string{"app_id": a.AppID}, map[string]any{"merchants": a.Merchants})
	return adminView(w, appView(a), nil)
}

func (s *System) adminListMerchants(w http.ResponseWriter, r *http.Request) error {
	ms, err := s.merchants.List(r.Context(), nil)
	if err != nil {
		return fmt.Errorf("list merchants: %w", err)
	}
	if ms == nil {
		ms = []Merchant{}
	}
	return adminView(w, map[string]any{"merchants": ms}, nil)
}

func (s *System) adminPutMerchant(w http.ResponseWriter, r *http.Request) error {
	var in Merchant
	if err := adminBody(r, &in); err != nil {
		return err
	}
	in.MerchantNo = pathParam(r, "merchantNo")
	ctx := r.Context()
	if err := s.do(false, func(*effects) error { return s.putMerchant(ctx, in) }); err != nil {
		if u := apierr.Unavailability(err); u != nil {
			return u // not a 400 quoting the database's error
		}
		return apierr.Field(apierr.Invalid, "", "merchant", "%v", err)
	}
	s.env.Record(Name, "merchant.registered", "merchant "+in.MerchantNo+" registered", map[string]string{"merchant_no": in.MerchantNo}, nil)
	m, err := s.merchants.Get(ctx, in.MerchantNo)
	if err != nil {
		return fmt.Errorf("merchant %s after registering it: %w", in.MerchantNo, err)
	}
	return adminView(w, m, nil)
}

func (s *System) adminGetTerminal(w http.ResponseWriter, r *http.Request) error {
	v, err := s.terminalView(r.Context(), pathParam(r, "sn"))
	return adminView(w, v, err)
}

// adminAct performs a terminal action: online, offline, confirm, approve,
// decline, tip, card, wallet, sign, cancel.
func (s *System) adminAct(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		TransNo   string `json:"trans_no"`
		TipAmount string `json:"tip_amount"`
		Card      string `json:"card"`
		Wallet    string `json:"wallet"`
		QR        string `json:"qr"`
		Decline   bool   `json:"decline"`
	}
	if err := adminBody(r, &in); err != nil {
		return err
	}
	v, err := s.Act(r.Context(), pathParam(r, "sn"), Action{Kind: pathParam(r, "action"), TransNo: in.TransNo, Tip: in.TipAmount,
		Card: in.Card, Wallet: in.Wallet, QR: in.QR, Decline: in.Decline})
	return adminView(w, v, err)
}

func (s *System) adminSetPilot(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Card      string `json:"card"`
		Wallet    string `json:"wallet"`
		Delay     string `json:"delay"`
		TipAmount string `json:"tip_amount"`
		Sign      *bool  `json:"sign"`
		Approve   *bool  `json:"approve"`
	}
	if err := adminBody(r, &in); err != nil {
		return err
	}
	d, err := parseDuration(in.Delay)
	if err != nil {
		return apierr.Field(apierr.Invalid, "delay", "duration", "%v", err)
	}
	p := &Autopilot{Card: in.Card, Wallet: in.Wallet, Delay: d, Tip: in.TipAmount, Sign: boolOr(in.Sign, true), Approve: boolOr(in.Approve, true)}
	v, err := s.SetAutopilot(r.Context(), pathParam(r, "sn"), p)
	return adminView(w, v, err)
}

func (s *System) adminClearPilot(w http.ResponseWriter, r *http.Request) error {
	v, err := s.SetAutopilot(r.Context(), pathParam(r, "sn"), nil)
	return adminView(w, v, err)
}

func (s *System) adminGetTxn(w http.ResponseWriter, r *http.Request) error {
	t, err := s.txns.Get(r.Context(), pathParam(r, "transNo"))
	if err != nil {
		return orAbsent(err, apierr.Field(apierr.NotFound, "transNo", "unknown", "no CodePay transaction %s", pathParam(r, "transNo")))
	}
	v, err := s.txnView(r.Context(), t)
	return adminView(w, v, err)
}
