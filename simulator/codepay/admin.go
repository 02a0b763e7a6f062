package codepay

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/pspsim/pspsim/simulator/admin"
	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/openapi"
)

// AdminHandlers returns the handlers of the admin operations this system
// owns (specs/admin.yaml, codepay region).
func (s *System) AdminHandlers() map[string]http.Handler {
	hs := map[string]http.HandlerFunc{
		"getCodePayGatewayKey":      s.adminGatewayKey,
		"listCodePayApps":           s.adminListApps,
		"putCodePayApp":             s.adminPutApp,
		"listCodePayMerchants":      s.adminListMerchants,
		"putCodePayMerchant":        s.adminPutMerchant,
		"getCodePayTerminal":        s.adminGetTerminal,
		"actOnCodePayTerminal":      s.adminAct,
		"setCodePayTerminalPilot":   s.adminSetPilot,
		"clearCodePayTerminalPilot": s.adminClearPilot,
		"getCodePayTransaction":     s.adminGetTxn,
	}
	out := make(map[string]http.Handler, len(hs))
	for k, h := range hs {
		out[k] = h
	}
	return out
}

func adminJSON(w http.ResponseWriter, status int, v any) { admin.WriteJSON(w, status, v) }

func adminError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apierr.Error
	if !errors.As(err, &ae) {
		ae = apierr.Wrap(err)
	}
	// Gateway codes mean nothing to the admin API: keep kind, field, message.
	out := *ae
	out.Code = ""
	if out.Status == 0 || out.Status == http.StatusOK {
		out.Status = apierr.HTTPStatus(out.Kind)
	}
	admin.Error(w, r, &out)
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
func (s *System) adminGatewayKey(w http.ResponseWriter, r *http.Request) {
	pemText := string(s.GatewayPublicKeyPEM())
	b64 := strings.Join(strings.Split(strings.TrimSpace(pemText), "\n")[1:], "")
	b64 = strings.TrimSuffix(b64, "-----END PUBLIC KEY-----")
	if _, err := base64.StdEncoding.DecodeString(b64); err != nil {
		adminError(w, r, err)
		return
	}
	adminJSON(w, http.StatusOK, map[string]any{
		"gateway_rsa_public_key": b64, "publicKeyPem": pemText, "algorithm": "RSA", "bits": s.GatewayPublicKey().N.BitLen(),
		"signType": "RSA2", "signature": "SHA256withRSA", "cardEncryption": "RSA PKCS#1 v1.5",
	})
}

// AppView is an app as the admin API shows it: keys, never passwords.
type AppView struct {
	AppID     string           `json:"appId"`
	Merchants []string         `json:"merchants"`
	Sandbox   *CredentialsView `json:"sandbox,omitempty"`
	Live      *CredentialsView `json:"live,omitempty"`
}

// CredentialsView shows one environment's credentials.
type CredentialsView struct {
	PublicKeyPEM string `json:"publicKeyPem,omitempty"`
	BasicAuth    bool   `json:"basicAuth"`
}

func appView(a App) AppView {
	v := AppView{AppID: a.AppID, Merchants: a.Merchants}
	cv := func(c Credentials) *CredentialsView {
		if c == (Credentials{}) {
			return nil
		}
		return &CredentialsView{PublicKeyPEM: c.PublicKeyPEM, BasicAuth: c.BasicPassword != ""}
	}
	v.Sandbox, v.Live = cv(a.Sandbox), cv(a.Live)
	return v
}

func (s *System) adminListApps(w http.ResponseWriter, r *http.Request) {
	apps, err := s.apps.List(r.Context(), nil)
	if err != nil {
		adminError(w, r, err)
		return
	}
	out := []AppView{}
	for _, a := range apps {
		out = append(out, appView(a))
	}
	adminJSON(w, http.StatusOK, map[string]any{"apps": out})
}

type credIn struct {
	PublicKey     string `json:"publicKey"`
	BasicPassword string `json:"basicPassword"`
}

func (s *System) adminPutApp(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Merchants []string `json:"merchants"`
		Sandbox   *credIn  `json:"sandbox"`
		Live      *credIn  `json:"live"`
	}
	if err := adminBody(r, &in); err != nil {
		adminError(w, r, err)
		return
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
			adminError(w, r, apierr.Field(apierr.Invalid, c.field+".publicKey", "key", "%v", err))
			return
		}
		*c.out = cred
	}
	ctx := r.Context()
	for i, m := range a.Merchants {
		if _, err := s.merchants.Get(ctx, m); err != nil {
			adminError(w, r, apierr.Field(apierr.Invalid, "merchants", "unknown", "merchants[%d]: no merchant %s (create it first)", i, m))
			return
		}
	}
	err := s.do(false, func(*effects) error { return s.putApp(ctx, a) })
	if err != nil {
		adminError(w, r, apierr.Field(apierr.Invalid, "", "app", "%v", err))
		return
	}
	s.env.Record(Name, "app.registered", "app "+a.AppID+" registered", map[string]string{"app_id": a.AppID}, map[string]any{"merchants": a.Merchants})
	adminJSON(w, http.StatusOK, appView(a))
}

func (s *System) adminListMerchants(w http.ResponseWriter, r *http.Request) {
	ms, err := s.merchants.List(r.Context(), nil)
	if err != nil {
		adminError(w, r, err)
		return
	}
	if ms == nil {
		ms = []Merchant{}
	}
	adminJSON(w, http.StatusOK, map[string]any{"merchants": ms})
}

func (s *System) adminPutMerchant(w http.ResponseWriter, r *http.Request) {
	var in Merchant
	if err := adminBody(r, &in); err != nil {
		adminError(w, r, err)
		return
	}
	in.MerchantNo = pathParam(r, "merchantNo")
	ctx := r.Context()
	err := s.do(false, func(*effects) error { return s.putMerchant(ctx, in) })
	if err != nil {
		adminError(w, r, apierr.Field(apierr.Invalid, "", "merchant", "%v", err))
		return
	}
	s.env.Record(Name, "merchant.registered", "merchant "+in.MerchantNo+" registered", map[string]string{"merchant_no": in.MerchantNo}, nil)
	m, _ := s.merchants.Get(ctx, in.MerchantNo)
	adminJSON(w, http.StatusOK, m)
}

func (s *System) adminGetTerminal(w http.ResponseWriter, r *http.Request) {
	v, err := s.terminalView(r.Context(), pathParam(r, "sn"))
	writeAdmin(w, r, v, err)
}

// adminAct performs a terminal action: online, offline, confirm, approve,
// decline, tip, card, wallet, sign, cancel.
func (s *System) adminAct(w http.ResponseWriter, r *http.Request) {
	var in struct {
		TransNo   string `json:"trans_no"`
		TipAmount string `json:"tip_amount"`
		Card      string `json:"card"`
		Wallet    string `json:"wallet"`
		QR        string `json:"qr"`
		Decline   bool   `json:"decline"`
	}
	if err := adminBody(r, &in); err != nil {
		adminError(w, r, err)
		return
	}
	v, err := s.Act(r.Context(), pathParam(r, "sn"), Action{Kind: pathParam(r, "action"), TransNo: in.TransNo, Tip: in.TipAmount,
		Card: in.Card, Wallet: in.Wallet, QR: in.QR, Decline: in.Decline})
	writeAdmin(w, r, v, err)
}

func (s *System) adminSetPilot(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Card      string `json:"card"`
		Wallet    string `json:"wallet"`
		Delay     string `json:"delay"`
		TipAmount string `json:"tip_amount"`
		Sign      *bool  `json:"sign"`
		Approve   *bool  `json:"approve"`
	}
	if err := adminBody(r, &in); err != nil {
		adminError(w, r, err)
		return
	}
	d, err := parseDuration(in.Delay)
	if err != nil {
		adminError(w, r, apierr.Field(apierr.Invalid, "delay", "duration", "%v", err))
		return
	}
	p := &Autopilot{Card: in.Card, Wallet: in.Wallet, Delay: d, Tip: in.TipAmount, Sign: boolOr(in.Sign, true), Approve: boolOr(in.Approve, true)}
	v, err := s.SetAutopilot(r.Context(), pathParam(r, "sn"), p)
	writeAdmin(w, r, v, err)
}

func (s *System) adminClearPilot(w http.ResponseWriter, r *http.Request) {
	v, err := s.SetAutopilot(r.Context(), pathParam(r, "sn"), nil)
	writeAdmin(w, r, v, err)
}

// TxnView is a transaction as the admin API shows it.
type TxnView struct {
	Fields      map[string]any `json:"fields"`
	Environment string         `json:"environment"`
	AppID       string         `json:"appId"`
	MerchantNo  string         `json:"merchantNo"`
	Channel     string         `json:"channel"`
	Instrument  string         `json:"instrument,omitempty"`
	Card        string         `json:"card,omitempty"`
	Step        string         `json:"step,omitempty"`
	BatchNo     string         `json:"batchNo,omitempty"`
	BatchClosed bool           `json:"batchClosed"`
	Authorized  string         `json:"authorized,omitempty"`
	Captured    string         `json:"captured,omitempty"`
	Refunds     []string       `json:"refunds"`
	ThreeDS     *ThreeDSInfo   `json:"threeDS,omitempty"`
	ExpiresAt   string         `json:"expiresAt,omitempty"`
}

func (s *System) txnView(ctx context.Context, t Txn) TxnView {
	v := TxnView{Fields: orderFields(&t), Environment: t.Environment, AppID: t.AppID, MerchantNo: t.MerchantNo, Channel: t.Channel,
		Instrument: t.Instrument, Card: t.CardMasked, Step: stepOf(&t), BatchNo: t.BatchNo, BatchClosed: s.batchClosed(ctx, &t),
		Refunds: t.Refunds, ThreeDS: t.ThreeDS}
	if v.Refunds == nil {
		v.Refunds = []string{}
	}
	if t.TransType == TypePreAuth {
		v.Authorized, v.Captured = fmtAmount(t.Authorized, t.Currency), fmtAmount(t.Captured, t.Currency)
	}
	if !t.ExpiresAt.IsZero() {
		v.ExpiresAt = t.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z")
	}
	return v
}

func (s *System) adminGetTxn(w http.ResponseWriter, r *http.Request) {
	t, err := s.txns.Get(r.Context(), pathParam(r, "transNo"))
	if err != nil {
		adminError(w, r, apierr.Field(apierr.NotFound, "transNo", "unknown", "no CodePay transaction %s", pathParam(r, "transNo")))
		return
	}
	adminJSON(w, http.StatusOK, s.txnView(r.Context(), t))
}
