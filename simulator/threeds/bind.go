package threeds

import (
	"context"
	"errors"
	"fmt"

	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/store"
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
	// ThreeDSServerTransID, when the caller has it (it ran the
	// authentication itself), finds the authentication by its id: Bind
	// then checks and binds it in one store update instead of looking it up
	// first. It must be the id of DSTransID's authentication; when it is
	// not, Bind answers as if it were not given.
	ThreeDSServerTransID string
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
	if b.ThreeDSServerTransID != "" && b.DSTransID != "" {
		if res, done, err := s.bindByID(ctx, b); done {
			return res, err
		}
	}
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
	s.recordBound(&t, b.Reference)
	return t.Result, nil
}

// recordBound journals the binding of t to the authorization reference.
func (s *Service) recordBound(t *Transaction, reference string) {
	s.record("threeds.bound", "authentication bound to authorization "+reference, t, journal.String("reference", reference))
}

// errOtherTransaction: the binding's dsTransID is not the one of the
// authentication its ThreeDSServerTransID names.
var errOtherTransaction = errors.New("threeds: the dsTransId belongs to another authentication")

// bindByID is Bind for a caller that names the authentication by its id:
// the checks run on the current value inside the store's update, which
// binds it. done is false when the id does not name the dsTransID's
// authentication: Bind then looks it up by its dsTransID, as without the id.
func (s *Service) bindByID(ctx context.Context, b Binding) (res Result, done bool, err error) {
	var refused *BindError
	t, err := s.txns.Update(ctx, b.ThreeDSServerTransID, func(cur *Transaction) error {
		if cur.DSTransID != b.DSTransID {
			return errOtherTransaction
		}
		if field, reason := s.verdict(cur, b); field != "" {
			refused = &BindError{Field: field, Reason: reason}
			return refused
		}
		cur.BoundTo = b.Reference
		return nil
	})
	switch {
	case refused != nil:
		_, err := s.refuse(&t, b, refused.Field, refused.Reason)
		return Result{}, true, err
	case errors.Is(err, errOtherTransaction), errors.Is(err, store.ErrNotFound):
		return Result{}, false, nil
	case err != nil:
		return Result{}, true, fmt.Errorf("threeds: bind: %w", err)
	}
	s.recordBound(&t, b.Reference)
	return t.Result, true, nil
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
		if errors.Is(err, store.ErrNotFound) && b.AuthenticationValue != "" {
			// A value of ours presented with a foreign dsTransID is a value
			// taken from another transaction.
			other, e := s.txns.Lookup(ctx, "cavv/"+b.AuthenticationValue)
			if e == nil {
				return s.refuse(&other, b, "cavv", "belongs to another authentication")
			}
			if !errors.Is(e, store.ErrNotFound) {
				err = e
			}
		}
	case b.AuthenticationValue != "":
		t, err = s.txns.Lookup(ctx, "cavv/"+b.AuthenticationValue)
	default:
		return Transaction{}, &BindError{"dsTransId", "a dsTransId or an authentication value is required"}
	}
	if errors.Is(err, store.ErrNotFound) {
		return Transaction{}, ErrNotFound
	}
	if err != nil {
		// Not ErrNotFound, which would pass a value of ours for a foreign
		// one: the store did not answer (apierr.Wrap: 503).
		return Transaction{}, fmt.Errorf("threeds: check: %w", err)
	}
	if field, reason := s.verdict(&t, b); field != "" {
		return s.refuse(&t, b, field, reason)
	}
	return t, nil
}

// verdict says why the authentication t cannot back the authorization b
// (the field at fault and the reason), or "" when it can.
func (s *Service) verdict(t *Transaction, b Binding) (field, reason string) {
	switch {
	case !t.Final:
		return "dsTransId", "the authentication is not finished"
	case !LiabilityShift(t.TransStatus):
		return "authenticationResultCode", "the authentication did not succeed (transStatus " + t.TransStatus + ")"
	case b.AuthenticationValue != "" && b.AuthenticationValue != t.AuthenticationValue:
		return "cavv", "does not belong to this dsTransId"
	case b.ECI != "" && b.ECI != t.ECI:
		return "eci", "is not the ECI of this authentication (" + t.ECI + ")"
	case b.MerchantID != t.Merchant:
		return "dsTransId", "belongs to another merchant's authentication"
	case b.CardNumber != "" && s.fingerprint(b.CardNumber) != t.CardFingerprint:
		return "dsTransId", "authenticated another card"
	case b.Currency != t.Currency || b.Amount != t.Amount:
		return "dsTransId", "authenticated another amount or currency"
	case t.Reference != "" && t.Reference != b.Reference:
		return "cavv", "belongs to another transaction"
	case t.BoundTo != "" && t.BoundTo != b.Reference:
		return "cavv", "was already used by another authorization"
	}
	return "", ""
}

func (s *Service) refuse(t *Transaction, b Binding, field, reason string) (Transaction, error) {
	s.record("threeds.binding_refused", "authentication refused for authorization "+b.Reference+": "+field+" "+reason, t,
		journal.String("reference", b.Reference), journal.String("field", field))
	return Transaction{}, &BindError{Field: field, Reason: reason}
}
