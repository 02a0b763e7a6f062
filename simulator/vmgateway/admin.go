package vmgateway

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sort"

	"github.com/pspsim/pspsim/simulator/admin"
	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/openapi"
	"github.com/pspsim/pspsim/simulator/store"
)

// AdminHandlers returns the handlers of the gateway's admin operations
// (specs/admin.yaml, vmgateway region), and those of the 3-D Secure service,
// which has no system of its own to register them.
func (s *System) AdminHandlers() map[string]http.Handler {
	h := map[string]http.Handler{
		"revokeVMTokens":       admin.HandlerFunc(s.adminRevoke),
		"listVMPayments":       admin.HandlerFunc(s.adminListPayments),
		"getVMMerchant":        admin.HandlerFunc(s.adminGetMerchant),
		"updateVMMerchant":     admin.HandlerFunc(s.adminUpdateMerchant),
		"actAsVMBuyer":         admin.HandlerFunc(s.adminBuyer),
		"settleVMRefund":       admin.HandlerFunc(s.adminSettleRefund),
		"createVMWebhookSink":  admin.HandlerFunc(s.adminCreateSink),
		"getVMWebhookSink":     admin.HandlerFunc(s.adminGetSink),
		"updateVMWebhookSink":  admin.HandlerFunc(s.adminUpdateSink),
		"receiveVMWebhookSink": admin.HandlerFunc(s.adminSinkReceive),
	}
	for k, v := range s.tds.AdminHandlers() {
		h[k] = v
	}
	return h
}

// adminDecode reads the validated body into v; an absent body is {} (the
// admin operations' bodies are optional).
func adminDecode(r *http.Request, v any) error {
	body := openapi.FromContext(r.Context()).Body
	if len(body) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return apierr.New(apierr.Malformed, "request body is not valid JSON for this operation")
	}
	return nil
}

// pathParam returns a path parameter of the admin operation.
func pathParam(r *http.Request, name string) string {
	return openapi.FromContext(r.Context()).PathParams[name]
}

// adminNotFound is the admin API's 404 for an id that names nothing.
func adminNotFound(field, message string) *apierr.Error {
	return apierr.Field(apierr.NotFound, field, "exists", "%s", message)
}

// orNotFound turns the store's ErrNotFound into adminNotFound; other errors
// stay as they are.
func orNotFound(err error, field, message string) error {
	if errors.Is(err, store.ErrNotFound) {
		return adminNotFound(field, message)
	}
	return err
}

// adminRevoke revokes access tokens: one ({accessToken}) or all of an app,
// optionally in one environment ({appId, environment}).
func (s *System) adminRevoke(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		AccessToken string `json:"accessToken"`
		AppID       string `json:"appId"`
		Environment string `json:"environment"`
	}
	if err := adminDecode(r, &in); err != nil {
		return err
	}
	if in.AccessToken == "" && in.AppID == "" {
		return apierr.Field(apierr.Missing, "accessToken", "required", "accessToken or appId is required")
	}
	keep := func(t *Token) bool {
		return !t.Revoked && (in.AccessToken == "" || t.Token == in.AccessToken) && (in.AppID == "" || t.AppID == in.AppID) &&
			(in.Environment == "" || t.Environment == in.Environment)
	}
	var list []Token
	var err error
	if in.AccessToken != "" {
		if t, gerr := s.tokens.Get(r.Context(), in.AccessToken); gerr == nil && keep(&t) {
			list = []Token{t}
		}
	} else {
		list, err = s.tokens.Find(r.Context(), "app", in.AppID, keep)
	}
	if err != nil {
		return err
	}
	for _, t := range list {
		s.tokens.Update(r.Context(), t.Token, func(t *Token) error { t.Revoked = true; return nil })
		s.env.Record(Name, "auth.token_revoked", "access token revoked ("+t.Environment+")", map[string]string{"appId": t.AppID, "merchant": t.MerchantID},
			map[string]any{"environment": t.Environment})
	}
	admin.WriteJSON(w, http.StatusOK, map[string]any{"revoked": len(list)})
	return nil
}

// merchantView is a merchant as the admin API shows it: lists never null.
func merchantView(m Merchant) map[string]any {
	methods := m.Methods
	if methods == nil {
		methods = []string{}
	}
	envs := m.Environments
	if envs == nil {
		envs = []string{}
	}
	modes := m.LinkModes
	if modes == nil {
		modes = []string{}
	}
	return map[string]any{"merchantId": m.MerchantID, "name": m.Name, "methods": methods, "billingDesc": m.BillingDesc,
		"linkModes": modes, "threeDsUnavailable": m.ThreeDSUnavailable, "environments": envs}
}

func (s *System) adminGetMerchant(w http.ResponseWriter, r *http.Request) error {
	m, err := s.merchants.Get(r.Context(), pathParam(r, "merchantId"))
	if err != nil {
		return orNotFound(err, "merchantId", "no card gateway merchant with this id")
	}
	admin.WriteJSON(w, http.StatusOK, merchantView(m))
	return nil
}

// adminUpdateMerchant changes what a merchant has activated.
func (s *System) adminUpdateMerchant(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name               *string   `json:"name"`
		Methods            *[]string `json:"methods"`
		BillingDesc        *bool     `json:"billingDesc"`
		LinkModes          *[]string `json:"linkModes"`
		ThreeDSUnavailable *string   `json:"threeDsUnavailable"`
		Environments       *[]string `json:"environments"`
	}
	if err := adminDecode(r, &in); err != nil {
		return err
	}
	id := pathParam(r, "merchantId")
	m, err := s.merchants.Update(r.Context(), id, func(m *Merchant) error {
		if in.Name != nil {
			m.Name = *in.Name
		}
		if in.Methods != nil {
			m.Methods = slices.Clone(*in.Methods)
		}
		if in.BillingDesc != nil {
			m.BillingDesc = *in.BillingDesc
		}
		if in.LinkModes != nil {
			m.LinkModes = slices.Clone(*in.LinkModes)
		}
		if in.ThreeDSUnavailable != nil {
			m.ThreeDSUnavailable = *in.ThreeDSUnavailable
		}
		if in.Environments != nil {
			m.Environments = slices.Clone(*in.Environments)
		}
		return nil
	})
	if err != nil {
		return orNotFound(err, "merchantId", "no card gateway merchant with this id")
	}
	s.env.Record(Name, "merchant.updated", "merchant settings changed through the admin API", map[string]string{"merchant": id}, merchantView(m))
	admin.WriteJSON(w, http.StatusOK, merchantView(m))
	return nil
}

// adminBuyer is the buyer's answer to a wallet or QR payment, without a
// browser: approve or decline.
func (s *System) adminBuyer(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Action string `json:"action"`
	}
	if err := adminDecode(r, &in); err != nil {
		return err
	}
	p, err := s.walletDecision(r.Context(), pathParam(r, "tradeNo"), in.Action == "approve")
	if err != nil {
		return orNotFound(err, "tradeNo", "no payment with this tradeNo")
	}
	admin.WriteJSON(w, http.StatusOK, paymentSummary(p))
	return nil
}

func paymentSummary(p Payment) map[string]any {
	out := map[string]any{"tradeNo": p.TradeNo, "orderNo": p.OrderNo, "status": p.Status}
	if p.FailureCode != "" {
		out["failureCode"] = p.FailureCode
	}
	return out
}

// adminSettleRefund settles a PENDING refund now: succeeded, or failed (the
// processor declined it).
func (s *System) adminSettleRefund(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Result string `json:"result"`
	}
	if err := adminDecode(r, &in); err != nil {
		return err
	}
	id := pathParam(r, "refundId")
	to, code, why := RefundSucceeded, "", "settled through the admin API"
	if in.Result == "failed" {
		to, code, why = RefundFailed, "REFUND_DECLINED", "declined by the processor (admin API)"
	}
	rf, err := s.settleRefund(r.Context(), id, to, code, why)
	if err != nil {
		return orNotFound(err, "refundId", "no refund with this refundId")
	}
	admin.WriteJSON(w, http.StatusOK, map[string]any{"refundId": rf.RefundID, "refundNumber": rf.RefundNumber, "status": rf.Status,
		"amount": formatAmount(rf.Amount, rf.Currency)})
	return nil
}

// paymentRecord is a payment as listVMPayments shows it: the gateway's own
// record, environment and history included, with its refunds.
type paymentRecord struct {
	paymentView
	MerchantID string         `json:"merchantId"`
	AppID      string         `json:"appId"`
	CardNN     string         `json:"cardNN,omitempty"`
	History    []Transition   `json:"history"`
	Refunds    []refundRecord `json:"refunds"`
}

type refundRecord struct {
	refundView
	Environment string `json:"environment"`
}

// adminListPayments answers the gateway's records, for tests that judge an
// app from the PSP's side (the environment its credentials chose, how many
// payments one order made, what was captured and refunded).
func (s *System) adminListPayments(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	match := func(field, want string) bool { return want == "" || field == want }
	keep := func(p *Payment) bool {
		return match(p.OrderNo, q.Get("orderNo")) && match(p.TradeNo, q.Get("tradeNo")) &&
			match(p.Environment, q.Get("environment")) && match(p.MerchantID, q.Get("merchantId"))
	}
	// The most selective filter given picks the index; the others are checked.
	// A merchant or an environment selects most payments: the table is
	// listed and checked (it has no index of them, which every payment
	// stored would pay for).
	var list []Payment
	var err error
	switch {
	case q.Get("tradeNo") != "":
		if p, gerr := s.payments.Get(r.Context(), q.Get("tradeNo")); gerr == nil && keep(&p) {
			list = []Payment{p}
		}
	case q.Get("orderNo") != "":
		list, err = s.payments.Find(r.Context(), "orderNo", q.Get("orderNo"), keep)
	case q.Get("merchantId") != "", q.Get("environment") != "":
		list, err = s.payments.List(r.Context(), keep)
	default:
		list, err = s.payments.List(r.Context(), nil)
	}
	if err != nil {
		return err
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].CreatedAt.Before(list[j].CreatedAt) })
	out := make([]paymentRecord, 0, len(list))
	for _, p := range list {
		rec := paymentRecord{paymentView: viewPayment(p), MerchantID: p.MerchantID, AppID: p.AppID, CardNN: p.CardNN, History: p.History, Refunds: []refundRecord{}}
		if rec.History == nil {
			rec.History = []Transition{}
		}
		rec.NextAction = nil
		refunds, err := s.refunds.Find(r.Context(), "tradeNo", p.TradeNo, nil)
		if err != nil {
			return err
		}
		sort.SliceStable(refunds, func(i, j int) bool { return refunds[i].CreatedAt.Before(refunds[j].CreatedAt) })
		for _, rf := range refunds {
			rec.Refunds = append(rec.Refunds, refundRecord{refundView: viewRefund(rf), Environment: rf.Environment})
		}
		out = append(out, rec)
	}
	admin.WriteJSON(w, http.StatusOK, map[string]any{"payments": out})
	return nil
}
