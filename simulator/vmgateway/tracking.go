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

// trackingIn is an addTracking body and an item of batchAddTracking.
type trackingIn struct {
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

// addOne adds one tracking record; the batch uses it per item.
func (s *System) addOne(ctx context.Context, tok Token, in trackingIn) (Tracking, *apierr.Error) {
	p, aerr := s.findPayment(ctx, tok, in.OrderNo, "")
	if aerr != nil {
		return Tracking{}, aerr
	}
	if aerr := canShip(&p); aerr != nil {
		return Tracking{}, aerr
	}
	now := s.now()
	t := Tracking{
		OrderNo: in.OrderNo, TradeNo: p.TradeNo, MerchantID: tok.MerchantID, Environment: tok.Environment, TrackingNo: in.TrackingNo,
		Carrier: in.Carrier, TrackingNumberType: in.TrackingNumberType, ShipmentDirection: in.ShipmentDirection,
		ShippingStatus: in.ShippingStatus, ShipmentDate: in.ShipmentDate, TrackingURL: in.TrackingURL, CreatedAt: now, UpdatedAt: now,
	}
	if err := s.tracks.Create(ctx, trackingKey(tok.MerchantID, tok.Environment, in.OrderNo, in.TrackingNo), t); err != nil {
		if errors.Is(err, store.ErrExists) {
			return Tracking{}, apierr.Field(apierr.Conflict, "trackingNo", "unique", "the order already has a tracking record with this trackingNo").WithCode(CodeDuplicateTracking)
		}
		return Tracking{}, apierr.Wrap(fmt.Errorf("store tracking: %w", err))
	}
	s.env.Record(Name, "tracking.added", fmt.Sprintf("tracking %s (%s) added: %s", t.TrackingNo, t.Carrier, t.ShippingStatus),
		map[string]string{"orderNo": t.OrderNo, "tradeNo": t.TradeNo, "trackingNo": t.TrackingNo, "merchant": t.MerchantID}, map[string]any{"environment": t.Environment})
	return t, nil
}

// addTracking adds the shipment of an authorized or captured order.
func (s *System) addTracking(w http.ResponseWriter, r *http.Request) error {
	var in trackingIn
	tok, _, err := s.request(r, &in)
	if err != nil {
		return err
	}
	note(r.Context(), "orderNo", in.OrderNo, "trackingNo", in.TrackingNo)
	t, aerr := s.addOne(r.Context(), tok, in)
	if aerr != nil {
		return aerr
	}
	WriteJSON(w, http.StatusOK, viewTracking(t))
	return nil
}

// batchAddTracking adds each item on its own and reports, by index, the
// items refused.
func (s *System) batchAddTracking(w http.ResponseWriter, r *http.Request) error {
	var in []trackingIn
	tok, _, err := s.request(r, &in)
	if err != nil {
		return err
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
	return nil
}

// errNoTracking answers a tracking record that does not exist.
func errNoTracking() *apierr.Error {
	return apierr.Field(apierr.NotFound, "trackingNo", "exists", "no tracking record for this order and trackingNo")
}

// trackingRef is how an operation names a tracking record: the order and
// its trackingNo. Operation inputs embed it.
type trackingRef struct {
	OrderNo    string `json:"orderNo"`
	TrackingNo string `json:"trackingNo"`
}

func (t trackingRef) ref() trackingRef { return t }

// trackingRequest is the common start of the operations on one tracking
// record: authenticate the caller, decode the body into in, note the ids
// for the journal, and return the record's store key.
func (s *System) trackingRequest(r *http.Request, in interface{ ref() trackingRef }) (string, error) {
	tok, _, err := s.request(r, in)
	if err != nil {
		return "", err
	}
	ref := in.ref()
	note(r.Context(), "orderNo", ref.OrderNo, "trackingNo", ref.TrackingNo)
	return trackingKey(tok.MerchantID, tok.Environment, ref.OrderNo, ref.TrackingNo), nil
}

// retrieveTracking answers one tracking record of an order.
func (s *System) retrieveTracking(w http.ResponseWriter, r *http.Request) error {
	var in trackingRef
	key, err := s.trackingRequest(r, &in)
	if err != nil {
		return err
	}
	t, err := s.tracks.Get(r.Context(), key)
	if e := unanswered(err); e != nil {
		return e
	}
	if err != nil {
		return errNoTracking()
	}
	WriteJSON(w, http.StatusOK, viewTracking(t))
	return nil
}

type trackingItem struct {
	Op    string  `json:"op"`
	Path  string  `json:"path"`
	Value *string `json:"value"`
}

// updateTracking applies op/path/value items in order, all or none.
func (s *System) updateTracking(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		trackingRef
		Iterms   []trackingItem    `json:"iterms"`
		Matedata map[string]string `json:"matedata"`
	}
	key, err := s.trackingRequest(r, &in)
	if err != nil {
		return err
	}
	// Items are checked against the fields' own rules before anything is
	// looked up: a malformed request is a 400 whatever the record's state.
	for i, it := range in.Iterms {
		if aerr := s.checkItem(i, it); aerr != nil {
			return aerr
		}
	}
	var from string
	t, err := s.tracks.Update(r.Context(), key, func(t *Tracking) error {
		from = t.ShippingStatus
		if aerr := canUpdateTracking(t); aerr != nil {
			return aerr
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
		return errNoTracking()
	}
	if err != nil {
		return err
	}
	ids := map[string]string{"orderNo": t.OrderNo, "tradeNo": t.TradeNo, "trackingNo": t.TrackingNo, "merchant": t.MerchantID}
	s.env.Record(Name, "tracking.updated", fmt.Sprintf("tracking %s updated (%d changes)", t.TrackingNo, len(in.Iterms)), ids,
		map[string]any{"from": from, "to": t.ShippingStatus, "environment": t.Environment})
	WriteJSON(w, http.StatusOK, viewTracking(t))
	return nil
}

// checkItem validates one item: op and path (the schema did), value present
// for replace/add and valid for its field, remove only on /trackingUrl.
func (s *System) checkItem(i int, it trackingItem) *apierr.Error {
	field := func(n string) string { return fmt.Sprintf("iterms[%d].%s", i, n) }
	if it.Op == "remove" {
		if it.Path != "/trackingUrl" {
			return apierr.Field(apierr.Invalid, field("op"), "enum", "remove applies only to /trackingUrl (the other fields are required)")
		}
		if it.Value != nil {
			return apierr.Field(apierr.Invalid, field("value"), "absent", "remove takes no value")
		}
		return nil
	}
	if it.Value == nil {
		return apierr.Field(apierr.Missing, field("value"), "required", "is required for %s", it.Op)
	}
	v := *it.Value
	bad := func(rule, format string, args ...any) *apierr.Error {
		return apierr.Field(apierr.Invalid, field("value"), rule, format, args...)
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

// applyItem changes the record (checkItem passed): /status moves through
// the shipping table, the other paths set their field.
func applyItem(t *Tracking, i int, it trackingItem) *apierr.Error {
	v := ""
	if it.Value != nil {
		v = *it.Value
	}
	if it.Path == "/status" {
		return moveShipping(t, i, v)
	}
	field := map[string]*string{
		"/carrier": &t.Carrier, "/trackingUrl": &t.TrackingURL, "/trackingNumberType": &t.TrackingNumberType,
		"/shipmentDate": &t.ShipmentDate, "/shipmentDirection": &t.ShipmentDirection,
	}[it.Path]
	if field != nil {
		*field = v
	}
	return nil
}
