package vmgateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/store"
)

type trackingRequest struct {
	Carrier            string `json:"carrier"`
	OrderNo            string `json:"orderNo"`
	ShipmentDate       string `json:"shipmentDate"`
	ShipmentDirection  string `json:"shipmentDirection"`
	ShippingStatus     string `json:"shippingStatus"`
	TrackingNo         string `json:"trackingNo"`
	TrackingNumberType string `json:"trackingNumberType"`
	TrackingURL        string `json:"trackingUrl"`
}

func trackingKey(merchant, environment, orderNo, trackingNo string) string {
	return scopeKey(merchant, environment, "tracking", orderNo, trackingNo)
}

// finalShipping reports whether a shipping status admits no change.
func finalShipping(status string) bool { return len(shippingTransitions[status]) == 0 }

// addOne adds one tracking record; the batch uses it per item.
func (s *System) addOne(ctx context.Context, tok Token, in trackingRequest) (Tracking, *apierr.Error) {
	p, aerr := s.findPayment(ctx, tok, in.OrderNo, "")
	if aerr != nil {
		return Tracking{}, aerr
	}
	switch p.Status {
	case StatusAuthorized, StatusCaptured, StatusPartiallyRefunded:
	default:
		return Tracking{}, apierr.Field(apierr.Conflict, "orderNo", "status", "orderNo: the payment is %s; only an authorized or captured order ships", p.Status).WithCode(CodeStatusConflict)
	}
	now := s.now()
	t := Tracking{
		OrderNo: in.OrderNo, TradeNo: p.TradeNo, MerchantID: tok.MerchantID, Environment: tok.Environment, TrackingNo: in.TrackingNo,
		Carrier: in.Carrier, TrackingNumberType: in.TrackingNumberType, ShipmentDirection: in.ShipmentDirection,
		ShippingStatus: in.ShippingStatus, ShipmentDate: in.ShipmentDate, TrackingURL: in.TrackingURL, CreatedAt: now, UpdatedAt: now,
	}
	if err := s.tracks.Create(ctx, trackingKey(tok.MerchantID, tok.Environment, in.OrderNo, in.TrackingNo), t); err != nil {
		if errors.Is(err, store.ErrExists) {
			return Tracking{}, apierr.Field(apierr.Conflict, "trackingNo", "unique", "trackingNo: the order already has a tracking record with this trackingNo").WithCode(CodeDuplicateTracking)
		}
		return Tracking{}, apierr.Wrap(fmt.Errorf("store tracking: %w", err))
	}
	s.env.Record(Name, "tracking.added", fmt.Sprintf("tracking %s (%s) added: %s", t.TrackingNo, t.Carrier, t.ShippingStatus),
		map[string]string{"orderNo": t.OrderNo, "tradeNo": t.TradeNo, "trackingNo": t.TrackingNo, "merchant": t.MerchantID}, map[string]any{"environment": t.Environment})
	return t, nil
}

func (s *System) addTracking(w http.ResponseWriter, r *http.Request) {
	tok, _, ok := s.caller(w, r)
	if !ok {
		return
	}
	var in trackingRequest
	if !s.decode(w, r, &in) {
		return
	}
	note(r.Context(), "orderNo", in.OrderNo, "trackingNo", in.TrackingNo)
	t, aerr := s.addOne(r.Context(), tok, in)
	if aerr != nil {
		s.fail(w, r, aerr)
		return
	}
	WriteJSON(w, http.StatusOK, viewTracking(t))
}

// batchAddTracking adds each item on its own and reports, by index, the
// items refused.
func (s *System) batchAddTracking(w http.ResponseWriter, r *http.Request) {
	tok, _, ok := s.caller(w, r)
	if !ok {
		return
	}
	var in []trackingRequest
	if !s.decode(w, r, &in) {
		return
	}
	added := []trackingView{}
	refused := []map[string]any{}
	for i, item := range in {
		t, aerr := s.addOne(r.Context(), tok, item)
		if aerr != nil {
			e := map[string]any{"index": i, "code": Code(aerr), "message": aerr.Message}
			if aerr.Field != "" {
				e["field"] = aerr.Field
			}
			refused = append(refused, e)
			continue
		}
		added = append(added, viewTracking(t))
	}
	WriteJSON(w, http.StatusOK, map[string]any{"trackers": added, "errors": refused})
}

func (s *System) retrieveTracking(w http.ResponseWriter, r *http.Request) {
	tok, _, ok := s.caller(w, r)
	if !ok {
		return
	}
	var in struct {
		OrderNo    string `json:"orderNo"`
		TrackingNo string `json:"trackingNo"`
	}
	if !s.decode(w, r, &in) {
		return
	}
	note(r.Context(), "orderNo", in.OrderNo, "trackingNo", in.TrackingNo)
	t, err := s.tracks.Get(r.Context(), trackingKey(tok.MerchantID, tok.Environment, in.OrderNo, in.TrackingNo))
	if err != nil {
		s.fail(w, r, apierr.Field(apierr.NotFound, "trackingNo", "exists", "trackingNo: no tracking record for this order and trackingNo"))
		return
	}
	WriteJSON(w, http.StatusOK, viewTracking(t))
}

type trackingItem struct {
	Op    string  `json:"op"`
	Path  string  `json:"path"`
	Value *string `json:"value"`
}

// updateTracking applies op/path/value items in order, all or none.
func (s *System) updateTracking(w http.ResponseWriter, r *http.Request) {
	tok, _, ok := s.caller(w, r)
	if !ok {
		return
	}
	var in struct {
		Iterms     []trackingItem    `json:"iterms"`
		Matedata   map[string]string `json:"matedata"`
		OrderNo    string            `json:"orderNo"`
		TrackingNo string            `json:"trackingNo"`
	}
	if !s.decode(w, r, &in) {
		return
	}
	note(r.Context(), "orderNo", in.OrderNo, "trackingNo", in.TrackingNo)
	// Items are checked against the fields' own rules before anything is
	// looked up: a malformed request is a 400 whatever the record's state.
	for i, it := range in.Iterms {
		if aerr := s.checkItem(i, it); aerr != nil {
			s.fail(w, r, aerr)
			return
		}
	}
	key := trackingKey(tok.MerchantID, tok.Environment, in.OrderNo, in.TrackingNo)
	var from string
	t, err := s.tracks.Update(r.Context(), key, func(t *Tracking) error {
		from = t.ShippingStatus
		if finalShipping(t.ShippingStatus) {
			return apierr.Field(apierr.Conflict, "iterms[0].path", "status", "shippingStatus %s is final: the record no longer changes", t.ShippingStatus).WithCode(CodeStatusConflict)
		}
		for i, it := range in.Iterms {
			if aerr := applyItem(t, i, it); aerr != nil {
				return aerr
			}
		}
		if in.Matedata != nil {
			t.Matedata = in.Matedata
		}
		t.UpdatedAt = s.now()
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, apierr.Field(apierr.NotFound, "trackingNo", "exists", "trackingNo: no tracking record for this order and trackingNo"))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ids := map[string]string{"orderNo": t.OrderNo, "tradeNo": t.TradeNo, "trackingNo": t.TrackingNo, "merchant": t.MerchantID}
	s.env.Record(Name, "tracking.updated", fmt.Sprintf("tracking %s updated (%d changes)", t.TrackingNo, len(in.Iterms)), ids,
		map[string]any{"from": from, "to": t.ShippingStatus, "environment": t.Environment})
	WriteJSON(w, http.StatusOK, viewTracking(t))
}

// checkItem validates one item: op and path (the schema did), value present
// for replace/add and valid for its field, remove only on /trackingUrl.
func (s *System) checkItem(i int, it trackingItem) *apierr.Error {
	field := func(n string) string { return fmt.Sprintf("iterms[%d].%s", i, n) }
	if it.Op == "remove" {
		if it.Path != "/trackingUrl" {
			return apierr.Field(apierr.Invalid, field("op"), "enum", "%s: remove applies only to /trackingUrl (the other fields are required)", field("op"))
		}
		if it.Value != nil {
			return apierr.Field(apierr.Invalid, field("value"), "absent", "%s: remove takes no value", field("value"))
		}
		return nil
	}
	if it.Value == nil {
		return apierr.Field(apierr.Missing, field("value"), "required", "%s: is required for %s", field("value"), it.Op)
	}
	v := *it.Value
	bad := func(rule, format string, args ...any) *apierr.Error {
		return apierr.Field(apierr.Invalid, field("value"), rule, "%s: "+format, append([]any{field("value")}, args...)...)
	}
	enumOf := map[string]string{"/status": "ShippingStatus", "/carrier": "Carrier", "/trackingNumberType": "TrackingNumberType", "/shipmentDirection": "ShipmentDirection"}
	switch it.Path {
	case "/trackingUrl":
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(v) > 256 {
			return bad("format", "must be an http(s) URL of at most 256 characters")
		}
	case "/shipmentDate":
		if _, err := time.Parse("2006-01-02", v); err != nil {
			return bad("format", "must be a date like 2025-06-09")
		}
	default:
		if !slices.Contains(s.enums[enumOf[it.Path]], v) {
			return bad("enum", "is not one of the allowed values of %s", it.Path)
		}
	}
	return nil
}

// applyItem changes the record (checkItem passed).
func applyItem(t *Tracking, i int, it trackingItem) *apierr.Error {
	v := ""
	if it.Value != nil {
		v = *it.Value
	}
	switch it.Path {
	case "/status":
		if v == t.ShippingStatus {
			return nil
		}
		if !slices.Contains(shippingTransitions[t.ShippingStatus], v) {
			return apierr.Field(apierr.Conflict, fmt.Sprintf("iterms[%d].value", i), "transition", "shippingStatus cannot change from %s to %s", t.ShippingStatus, v).WithCode(CodeStatusConflict)
		}
		t.ShippingStatus = v
	case "/carrier":
		t.Carrier = v
	case "/trackingUrl":
		t.TrackingURL = v
	case "/trackingNumberType":
		t.TrackingNumberType = v
	case "/shipmentDate":
		t.ShipmentDate = v
	case "/shipmentDirection":
		t.ShipmentDirection = v
	}
	return nil
}
