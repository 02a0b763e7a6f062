package threeds

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/pspsim/pspsim/simulator/admin"
	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/money"
	"github.com/pspsim/pspsim/simulator/openapi"
)

// AdminHandlers returns the handlers of the 3-D Secure admin operations
// (specs/admin.yaml, vmgateway region), by operationId. The card gateway
// registers them, as the admin API takes handlers from systems.
func (s *Service) AdminHandlers() map[string]http.Handler {
	return map[string]http.Handler{
		"createThreeDSAuthentication": admin.HandlerFunc(s.adminAuthenticate),
		"getThreeDSTransaction":       admin.HandlerFunc(s.adminGet),
		"completeThreeDSChallenge":    admin.HandlerFunc(s.adminComplete),
	}
}

// adminAuthenticate runs a standalone authentication (no PSP payment behind
// it): a developer gets authentication data to send as a payment's external
// threeDsData, bound to the first authorization that presents it.
func (s *Service) adminAuthenticate(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		CardNo       string `json:"cardNo"`
		Amount       string `json:"amount"`
		Currency     string `json:"currency"`
		MerchantID   string `json:"merchantId"`
		MerchantName string `json:"merchantName"`
		ReturnURL    string `json:"returnUrl"`
	}
	if err := json.Unmarshal(openapi.FromContext(r.Context()).Body, &in); err != nil {
		return apierr.New(apierr.Malformed, "request body is not valid JSON")
	}
	amount, err := money.ParsePositive(in.Amount, in.Currency)
	if err != nil {
		var pe *money.ParseError
		field := "amount"
		if errors.As(err, &pe) && pe.Rule == money.RuleCurrency {
			field = "currency"
		}
		return apierr.Field(apierr.Invalid, field, "amount", "%s", err.Error())
	}
	res, err := s.Authenticate(r.Context(), Request{
		System: "admin", MerchantID: in.MerchantID, MerchantName: in.MerchantName, CardNumber: in.CardNo,
		Amount: amount, Currency: in.Currency, ReturnURL: in.ReturnURL,
	})
	if err != nil {
		return apiError(err)
	}
	admin.WriteJSON(w, http.StatusOK, res)
	return nil
}

func (s *Service) adminGet(w http.ResponseWriter, r *http.Request) error {
	res, err := s.Get(r.Context(), openapi.FromContext(r.Context()).PathParams["id"])
	if err != nil {
		return apiError(err)
	}
	admin.WriteJSON(w, http.StatusOK, res)
	return nil
}

// adminComplete completes a challenge (or a decoupled authentication)
// without a browser: {"otp": "123456"}, {"result": "pass|fail|abandon"}, or
// {} for what the card's row intends.
func (s *Service) adminComplete(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		OTP    string `json:"otp"`
		Result string `json:"result"`
	}
	if err := json.Unmarshal(openapi.FromContext(r.Context()).Body, &in); err != nil {
		return apierr.New(apierr.Malformed, "request body is not valid JSON")
	}
	c := Completion{Action: "result", Result: in.Result}
	if in.OTP != "" {
		if in.Result != "" {
			return apierr.Field(apierr.Invalid, "otp", "oneOf", "send otp or result, not both")
		}
		c = Completion{Action: "submit", OTP: in.OTP}
	}
	res, err := s.Complete(r.Context(), openapi.FromContext(r.Context()).PathParams["acsTransId"], c)
	if err != nil {
		return apiError(err)
	}
	admin.WriteJSON(w, http.StatusOK, res)
	return nil
}

// apiError says an error of the service in the admin API's terms.
func apiError(err error) *apierr.Error {
	var inv *InvalidError
	var wrong *WrongOTPError
	switch {
	case errors.As(err, &inv):
		return apierr.Field(apierr.Invalid, inv.Field, "invalid", "%s", inv.Reason)
	case errors.As(err, &wrong):
		return apierr.Field(apierr.Unprocessable, "otp", "otp", "%s", wrong.Error())
	case errors.Is(err, ErrNotFound):
		return apierr.New(apierr.NotFound, "no 3-D Secure authentication with this id")
	case errors.Is(err, ErrNotPending):
		return apierr.New(apierr.Conflict, "the authentication is final already")
	}
	return apierr.Wrap(err)
}
