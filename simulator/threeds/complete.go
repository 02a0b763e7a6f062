package threeds

import (
	"context"
	"fmt"

	"github.com/pspsim/pspsim/simulator/journal"
)

// How a pending authentication ends: the cardholder's code or cancellation
// (the challenge page, pages.go), the admin action, or the clock (a challenge
// that times out, a decoupled authentication that resolves). Each ends once,
// in finish, which tells the PSP through its OnComplete callback or its named
// handler (notify).

// WrongOTPError says a challenge got a wrong code and may be tried again.
type WrongOTPError struct{ AttemptsLeft int }

func (e *WrongOTPError) Error() string {
	return fmt.Sprintf("the code is not correct; %d attempts left", e.AttemptsLeft)
}

// Completion is how a challenge (or a decoupled authentication) ends.
type Completion struct {
	// Action: "submit" (with OTP), "cancel" (the cardholder abandons), or
	// "result" (Result says the outcome, for the admin action).
	Action string
	OTP    string
	// Result, with Action "result": "pass", "fail", "abandon", or "" for
	// what the card's row of TESTCARDS.md intends.
	Result string
}

// Complete ends a pending authentication (by any of its ids). A wrong OTP
// answers *WrongOTPError while attempts remain; a final authentication
// answers its result with ErrNotPending.
func (s *Service) Complete(ctx context.Context, id string, c Completion) (Result, error) {
	t, err := s.find(ctx, id)
	if err != nil {
		return Result{}, err
	}
	if t.Final {
		return t.Result, ErrNotPending
	}
	status, reason, how := "", "", ""
	switch c.Action {
	case "submit":
		switch c.OTP {
		case s.cards.Challenge.PassOTP:
			status, how = StatusY, "the cardholder entered the right code"
		case s.cards.Challenge.FailOTP:
			status, reason, how = StatusN, ReasonCardAuthFailed, "the cardholder entered the failing code"
		default:
			var left int
			updated, err := s.txns.Update(ctx, t.ThreeDSServerTransID, func(cur *Transaction) error {
				if cur.Final {
					return ErrNotPending
				}
				cur.OTPAttempts++
				left = MaxOTPAttempts - cur.OTPAttempts
				return nil
			})
			if err != nil {
				return updated.Result, err
			}
			if left > 0 {
				s.record("threeds.challenge_wrong_code", fmt.Sprintf("wrong code on the challenge page, %d attempts left", left), &updated)
				return updated.Result, &WrongOTPError{AttemptsLeft: left}
			}
			status, reason, how = StatusN, ReasonCardAuthFailed, fmt.Sprintf("%d wrong codes", MaxOTPAttempts)
		}
	case "cancel":
		status, reason, how = StatusU, ReasonTimedOut, "the cardholder cancelled"
	case "result":
		r := c.Result
		if r == "" {
			r = s.intended(t)
		}
		switch r {
		case "pass":
			status, how = StatusY, "completed by the admin API (pass)"
		case "fail":
			status, reason, how = StatusN, ReasonCardAuthFailed, "completed by the admin API (fail)"
		case "abandon":
			status, reason, how = StatusU, ReasonTimedOut, "completed by the admin API (abandon)"
		default:
			return t.Result, &InvalidError{"result", "must be pass, fail or abandon"}
		}
	default:
		return t.Result, &InvalidError{"action", "must be submit or cancel"}
	}
	return s.finish(ctx, t.ThreeDSServerTransID, status, reason, how)
}

// intended is what the card's row means a challenge to end with: row 06
// passes, 07 fails, 08 is abandoned; a decoupled card ends as its row says.
func (s *Service) intended(t Transaction) string {
	if t.TransStatus == StatusD {
		switch t.FinalStatus {
		case StatusN, StatusR:
			return "fail"
		case StatusU:
			return "abandon"
		}
		return "pass"
	}
	for _, c := range s.cards.Cards {
		if c.NN != t.NN {
			continue
		}
		switch {
		case c.ThreeDS.Flow == "challenge_abandoned" || c.ThreeDS.FinalStatus == StatusU:
			return "abandon"
		case c.ThreeDS.FinalStatus == StatusN:
			return "fail"
		}
	}
	return "pass"
}

// finish moves a pending authentication to its final status, once, and tells
// the caller.
func (s *Service) finish(ctx context.Context, id, status, reason, how string) (Result, error) {
	changed := false
	t, err := s.txns.Update(ctx, id, func(cur *Transaction) error {
		if cur.Final {
			return nil
		}
		s.settle(cur, status, reason, s.opts.Clock.Now())
		changed = true
		return nil
	})
	if err != nil {
		return Result{}, fmt.Errorf("threeds: complete %s: %w", id, err)
	}
	if !changed {
		return t.Result, ErrNotPending
	}
	if t.AuthenticationValue != "" {
		if err := s.txns.Claim(ctx, id, "cavv/"+t.AuthenticationValue); err != nil {
			return t.Result, fmt.Errorf("threeds: index authentication value: %w", err)
		}
	}
	kind := "threeds.challenge_completed"
	if t.Flow == FlowDecoupled {
		kind = "threeds.decoupled_completed"
	}
	s.record(kind, fmt.Sprintf("%s authentication %s → %s: %s", t.Flow, map[bool]string{true: "D", false: "C"}[t.Flow == FlowDecoupled], describe(t.Result), how), &t, journal.String("how", how))
	s.notify(ctx, &t)
	return t.Result, nil
}

// notify tells the PSP waiting for t, once: only the caller whose store
// update made t final gets here (finish's changed), on whichever process or
// replica it runs, so the PSP hears it once however many processes hold a
// completion for it. That caller uses the request's OnComplete when this
// process has it (the process that started the authentication, not
// restarted since), else the handler its Notify names — never both.
func (s *Service) notify(ctx context.Context, t *Transaction) {
	ctx = context.WithoutCancel(ctx)
	s.mu.Lock()
	cb := s.callbacks[t.ThreeDSServerTransID]
	delete(s.callbacks, t.ThreeDSServerTransID)
	named := s.notifiers[t.Notify]
	s.mu.Unlock()
	switch {
	case cb.fn != nil:
		cb.fn(ctx, t.Result)
	case t.Notify == "":
	case named != nil:
		named(ctx, t.NotifyData, t.Result)
	default:
		s.record("threeds.completion_unclaimed", "no handler named "+t.Notify+" is registered: the payment waiting for this authentication is not told", t,
			journal.String("notify", t.Notify))
	}
}

// timerKey marks the context of work a job started (a challenge
// timing out, a decoupled authentication resolving), so a PSP continuing the
// payment in OnComplete can tell it runs inside a clock move.
type timerKey struct{}

// InTimer reports whether ctx comes from one of the service's clock timers.
// A PSP then does its follow-up work synchronously (e.g. a webhook's first
// attempt), so that everything it schedules is on the clock before the
// clock moves further.
func InTimer(ctx context.Context) bool { v, _ := ctx.Value(timerKey{}).(bool); return v }

// expire ends a challenge nobody finished (U, reason 14).
func (s *Service) expire(ctx context.Context, id string) {
	ctx = context.WithValue(ctx, timerKey{}, true)
	t, err := s.txns.Get(ctx, id)
	if err != nil || t.Final || t.ExpiresAt == nil || s.opts.Clock.Now().Before(*t.ExpiresAt) {
		return
	}
	s.finish(ctx, id, StatusU, ReasonTimedOut, "the challenge timed out")
}

// resolveDecoupled ends a decoupled authentication as the card's row says.
func (s *Service) resolveDecoupled(ctx context.Context, id string) {
	ctx = context.WithValue(ctx, timerKey{}, true)
	t, err := s.txns.Get(ctx, id)
	if err != nil || t.Final || t.ExpiresAt == nil || s.opts.Clock.Now().Before(*t.ExpiresAt) {
		return
	}
	status, reason := t.FinalStatus, ""
	if status == "" {
		status = StatusY
	}
	if status == StatusN {
		reason = ReasonCardAuthFailed
	}
	s.finish(ctx, id, status, reason, "the cardholder answered in the issuer's app")
}
