package store

import (
	"context"
	"errors"
	"fmt"
)

// Claiming generated ids. Every id the simulator makes up (a tradeNo, a
// refund id, a session id, a trans_no, a Genstore payment id...) is drawn at
// random, often from a small space (six digits after a time stamp), so two
// creations can draw the same one — certainly so under a simulated clock that
// stands still. An id is therefore never checked and then used: it is claimed
// by the very write that stores it (Create, or Claim of a unique key), and a
// clash draws again. That holds across goroutines and, because the claim is
// the store's own atomic write, across processes sharing one database.
//
// Not claimed, on purpose: what names no stored object — an answer's psn or
// message_id, a webhook's eventId (64 random bits), an error's traceId, the
// issuer's auth_no and ref_no (real ones repeat too) — and what is unique
// by construction: CodePay batch numbers (the terminal's serial and its own
// sequence, drawn under the terminal's lock), fault rule ids and journal
// sequence numbers (counters).

// ErrIDTaken is what Create answers when the id itself (not one of the
// unique keys) belongs to another object. It wraps ErrExists.
var ErrIDTaken = fmt.Errorf("%w: the id is taken", ErrExists)

// ErrNoFreeID is NewID's answer when every draw clashed.
var ErrNoFreeID = errors.New("store: no free id")

// MaxDraws bounds NewID. With ids drawn uniformly, 64 clashes in a row
// happen only when the space is practically full: the draw function should
// then widen it (ids.Generator.Stamped moves its time stamp forward).
const MaxDraws = 64

// NewID draws an id with draw (attempt counts from 0) and hands it to claim,
// which stores the new object or reserves the id atomically. When claim
// reports ErrIDTaken the id belonged to someone else: NewID draws again. Any
// other result — success, or a conflict on a business key the caller
// chose, such as an orderNo — is returned with the id it concerned.
func NewID(draw func(attempt int) string, claim func(id string) error) (string, error) {
	for attempt := range MaxDraws {
		id := draw(attempt)
		err := claim(id)
		if !errors.Is(err, ErrIDTaken) {
			return id, err
		}
	}
	return "", fmt.Errorf("%w after %d draws", ErrNoFreeID, MaxDraws)
}

// Candidate returns a draw function for NewID whose first draw is first —
// an id the caller drew already, to check or journal before claiming it —
// and whose later draws are draw's.
func Candidate(first string, draw func(attempt int) string) func(attempt int) string {
	return func(attempt int) string {
		if attempt == 0 {
			return first
		}
		return draw(attempt)
	}
}

// CreateNew stores a new object under a freshly drawn id: build makes the
// object for the id, and unique are its unique keys (they do not depend on
// the id). An id clash draws again; a clash on a unique key is ErrExists,
// as with Create. It returns the object stored.
func (t Table[T]) CreateNew(ctx context.Context, draw func(attempt int) string, build func(id string) T, unique ...string) (T, error) {
	var v T
	_, err := NewID(draw, func(id string) error {
		v = build(id)
		return t.Create(ctx, id, v, unique...)
	})
	return v, err
}

// DrawnKeys reads a clash on a unique key as a clash of the drawn id, for a
// claim whose keys are made from the id (a CAVV from a dsTransID, a key
// "payment/<tradeNo>"): NewID then draws again. Other errors pass as they are.
func DrawnKeys(err error) error {
	if errors.Is(err, ErrExists) && !errors.Is(err, ErrIDTaken) {
		return fmt.Errorf("%w (%w)", ErrIDTaken, err)
	}
	return err
}

// ClaimNew adds a freshly drawn unique key to an existing object (key makes
// the key from the id): a way to reserve an id for an object stored later,
// such as a payment whose tradeNo must be known before it is decided. A
// clash on the key draws again.
func (t Table[T]) ClaimNew(ctx context.Context, id string, draw func(attempt int) string, key func(drawn string) string) (string, error) {
	return NewID(draw, func(drawn string) error { return DrawnKeys(t.Claim(ctx, id, key(drawn))) })
}
