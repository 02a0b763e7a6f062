package genstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/pspsim/pspsim/simulator/admin"
	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/openapi"
	"github.com/pspsim/pspsim/simulator/store"
)

// The admin operations of the genstore region of specs/admin.yaml live in
// rooms by job: admin_setup.go (apps, shops, installations),
// admin_payments.go (the buyer paying at checkout), admin_operations.go (the
// merchant's captures, voids, refunds and reconciliation) and buyer.go (the
// buyer's browser). The rules that decide whether a payment or an operation
// may start are in states.go. This file holds the table and what every
// admin handler reads a request with.

// AdminHandlers returns the handlers of the admin operations of the genstore
// region of specs/admin.yaml: set-up (apps, shops, installations), the
// merchant's actions (payments, captures, voids, refunds, reconciliation)
// and the buyer's (a redirect, a challenge).
func (s *System) AdminHandlers() map[string]http.Handler {
	return map[string]http.Handler{
		"registerGenstoreApp":       admin.HandlerFunc(s.adminRegisterApp),
		"listGenstoreApps":          admin.HandlerFunc(s.adminListApps),
		"getGenstoreApp":            admin.HandlerFunc(s.adminGetApp),
		"updateGenstoreApp":         admin.HandlerFunc(s.adminUpdateApp),
		"createGenstoreShop":        admin.HandlerFunc(s.adminCreateShop),
		"listGenstoreShops":         admin.HandlerFunc(s.adminListShops),
		"getGenstoreShop":           admin.HandlerFunc(s.adminGetShop),
		"updateGenstoreShop":        admin.HandlerFunc(s.adminUpdateShop),
		"installGenstoreApp":        admin.HandlerFunc(s.adminInstall),
		"listGenstoreInstallations": admin.HandlerFunc(s.adminListInstallations),
		"createGenstorePayment":     admin.HandlerFunc(s.adminCreatePayment),
		"listGenstorePayments":      admin.HandlerFunc(s.adminListPayments),
		"getGenstorePayment":        admin.HandlerFunc(s.adminGetPayment),
		"captureGenstorePayment":    s.adminOperation(KindCapture),
		"voidGenstorePayment":       s.adminOperation(KindVoid),
		"refundGenstorePayment":     s.adminOperation(KindRefund),
		"reconcileGenstorePayment":  admin.HandlerFunc(s.adminReconcile),
		"followGenstoreRedirect":    admin.HandlerFunc(s.adminFollowRedirect),
		"completeGenstoreChallenge": admin.HandlerFunc(s.adminChallenge),
	}
}

func body(r *http.Request) []byte {
	if req := openapi.FromContext(r.Context()); req != nil {
		return req.Body
	}
	return nil
}

func pathParam(r *http.Request, name string) string {
	if req := openapi.FromContext(r.Context()); req != nil {
		return req.PathParams[name]
	}
	return ""
}

func decode(r *http.Request, v any) *apierr.Error {
	if err := json.Unmarshal(body(r), v); err != nil {
		return apierr.New(apierr.Malformed, "the body is not the JSON object this operation takes: %v", jsonProblem(err))
	}
	return nil
}

// decodeOptional decodes a body that may be absent (an operation whose every
// field is optional): no body leaves v as it is.
func decodeOptional(r *http.Request, v any) *apierr.Error {
	if len(body(r)) == 0 {
		return nil
	}
	return decode(r, v)
}

// jsonProblem describes a decoding error without quoting input.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%s must be %s", te.Field, te.Type)
	}
	return "malformed JSON"
}

// adminShop, adminApp and adminPayment load what an admin request names, or
// say that it does not exist (404 naming the field) — only when the store
// says so: a store that did not answer is 503, not "no shop" for a shop
// that exists.
func (s *System) adminShop(ctx context.Context, id string) (Shop, *apierr.Error) {
	sh, err := s.shops.Get(ctx, id)
	if err != nil {
		return sh, orAbsent(err, adminNotFound("shop", "shopId", id))
	}
	return sh, nil
}

func (s *System) adminApp(ctx context.Context, id string) (App, *apierr.Error) {
	a, err := s.apps.Get(ctx, id)
	if err != nil {
		return a, orAbsent(err, adminNotFound("app", "clientId", id))
	}
	return a, nil
}

func (s *System) adminPayment(ctx context.Context, shopID, paymentID string) (Payment, *apierr.Error) {
	p, err := s.payments.Get(ctx, paymentKey(shopID, paymentID))
	if err != nil {
		return p, orAbsent(err, adminNotFound("payment", "paymentId", paymentID))
	}
	return p, nil
}

// orAbsent is the answer to a lookup's error: absent when the store said
// the object is not there (store.ErrNotFound), else the error as the
// dialects render it — a store that did not answer is Unavailable (503).
func orAbsent(err error, absent *apierr.Error) *apierr.Error {
	if errors.Is(err, store.ErrNotFound) {
		return absent
	}
	return apierr.Wrap(err)
}

func adminNotFound(what, field, id string) *apierr.Error {
	return apierr.Field(apierr.NotFound, field, "exists", "no %s %s", what, id)
}

// updateSetUp changes an app or a shop the admin API names, under its lock;
// change's *apierr.Error (a field that fails its check) is the answer, and
// an object that does not exist is 404 naming field.
func updateSetUp[T any](ctx context.Context, table store.Table[T], what, field, id string, change func(*T) error) (T, error) {
	v, err := table.Update(ctx, id, change)
	if errors.Is(err, store.ErrNotFound) {
		return v, adminNotFound(what, field, id)
	}
	if err != nil {
		return v, fmt.Errorf("update %s %s: %w", what, id, err)
	}
	return v, nil
}

// views turns a list into what the admin API shows of each: never null, an
// empty list is [].
func views[T, V any](list []T, view func(T) V) []V {
	out := make([]V, 0, len(list))
	for _, x := range list {
		out = append(out, view(x))
	}
	return out
}
