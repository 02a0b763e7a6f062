package threeds

import (
	"context"
	"fmt"
)

// Binding an authentication to the one authorization that uses it: a PSP
// presents what its authorization carries (dsTransID, CAVV/AAV, ECI, merchant,
// amount, card) and learns whether the authentication backs it.

// Binding is what an authorization presents to prove its authentication.
type Binding struct {
	// DSTransID and AuthenticationValue (CAVV/AAV) as the authorization
	// carries them; at least one.
	DSTransID           string
	AuthenticationValue string
	// ECI, when given, must be the authentication's.
	ECI string
	// MerchantID, Reference, Amount and Currency of the authorization.
	MerchantID string
	Reference  string
	Amount     int64
	Currency   string
	// CardNumber, when given, must be the authenticated card.
	CardNumber string
}

// BindError says why an authentication cannot back an authorization; Field
// names the offending value ("cavv", "dsTransId", "eci", "amount", ...).
type BindError struct {
	Field  string
	Reason string
}

func (e *BindError) Error() string { return e.Field + ": " + e.Reason }

// Bind checks that an authentication result backs this authorization and
// records the authorization as its user: a result binds to one reference
// only (binding again with the same reference is a no-op). ErrNotFound when
// neither the dsTransID nor the authentication value is one of this
// simulator's; *BindError when the result belongs elsewhere or does not fit.
func (s *Service) Bind(ctx context.Context, b Binding) (Result, error) {
	t, err := s.check(ctx, b)
	if err != nil {
		return Result{}, err
	}
	var refused *BindError
	t, err = s.txns.Update(ctx, t.ThreeDSServerTransID, func(cur *Transaction) error {
		if cur.BoundTo != "" && cur.BoundTo != b.Reference {
			refused = &BindError{"cavv", "was already used by another authorization"}
			return refused
		}
		cur.BoundTo = b.Reference
		return nil
	})
	if refused != nil {
		s.refuse(&t, b, refused.Field, refused.Reason)
		return Result{}, refused
	}
	if err != nil {
		return Result{}, fmt.Errorf("threeds: bind: %w", err)
	}
	s.record("threeds.bound", "authentication bound to authorization "+b.Reference, &t, map[string]any{"reference": b.Reference})
	return t.Result, nil
}

// Verify makes Bind's checks without binding: a PSP asks it before it
// commits to anything (claims an order number), then calls Bind.
func (s *Service) Verify(ctx context.Context, b Binding) (Result, error) {
	return resultOf(s.check(ctx, b))
}

func (s *Service) check(ctx context.Context, b Binding) (Transaction, error) {
	var t Transaction
	var err error
	switch {
	case b.DSTransID != "":
		t, err = s.txns.Lookup(ctx, "ds/"+b.DSTransID)
		if err != nil && b.AuthenticationValue != "" {
			// A value of ours presented with a foreign dsTransID is a value
			// taken from another transaction.
			if other, e := s.txns.Lookup(ctx, "cavv/"+b.AuthenticationValue); e == nil {
				return s.refuse(&other, b, "cavv", "belongs to another authentication")
			}
		}
	case b.AuthenticationValue != "":
		t, err = s.txns.Lookup(ctx, "cavv/"+b.AuthenticationValue)
	default:
		return Transaction{}, &BindError{"dsTransId", "a dsTransId or an authentication value is required"}
	}
	if err != nil {
		return Transaction{}, ErrNotFound
	}
	switch {
	case !t.Final:
		return s.refuse(&t, b, "dsTransId", "the authentication is not finished")
	case !LiabilityShift(t.TransStatus):
		return s.refuse(&t, b, "authenticationResultCode", "the authentication did not succeed (transStatus "+t.TransStatus+")")
	case b.AuthenticationValue != "" && b.AuthenticationValue != t.AuthenticationValue:
		return s.refuse(&t, b, "cavv", "does not belong to this dsTransId")
	case b.ECI != "" && b.ECI != t.ECI:
		return s.refuse(&t, b, "eci", "is not the ECI of this authentication ("+t.ECI+")")
	case b.MerchantID != t.Merchant:
		return s.refuse(&t, b, "dsTransId", "belongs to another merchant's authentication")
	case b.CardNumber != "" && s.fingerprint(b.CardNumber) != t.CardFingerprint:
		return s.refuse(&t, b, "dsTransId", "authenticated another card")
	case b.Currency != t.Currency || b.Amount != t.Amount:
		return s.refuse(&t, b, "dsTransId", "authenticated another amount or currency")
	case t.Reference != "" && t.Reference != b.Reference:
		return s.refuse(&t, b, "cavv", "belongs to another transaction")
	case t.BoundTo != "" && t.BoundTo != b.Reference:
		return s.refuse(&t, b, "cavv", "was already used by another authorization")
	}
	return t, nil
}

func (s *Service) refuse(t *Transaction, b Binding, field, reason string) (Transaction, error) {
	s.record("threeds.binding_refused", "authentication refused for authorization "+b.Reference+": "+field+" "+reason, t,
		map[string]any{"reference": b.Reference, "field": field})
	return Transaction{}, &BindError{Field: field, Reason: reason}
}
