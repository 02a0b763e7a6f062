// Package mac computes HMAC-SHA256 under one key, many times. A Keyed keeps
// the HMAC states it has made (one per goroutine using it at once) and resets
// them, instead of building a new one per message: crypto/hmac derives the
// key's inner and outer pads on New (two SHA-256 blocks and half a dozen
// allocations), which was most of what a card fingerprint or an
// authentication value cost on the card payment's path.
package mac

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"sync"
)

// Keyed is HMAC-SHA256 under one key, safe for concurrent use.
type Keyed struct {
	pool sync.Pool
}

// state is one pooled HMAC state with buffers for its message and its sum:
// a string handed to hash.Hash.Write is converted to bytes, and a buffer
// handed to Sum escapes, which the compiler cannot keep on the stack behind
// the interface — an allocation each, per message.
type state struct {
	h   hash.Hash
	msg []byte
	sum [sha256.Size]byte // h.Sum's output, for the same reason
}

// New returns a Keyed for key (copied).
func New(key []byte) *Keyed {
	k := append([]byte(nil), key...)
	m := &Keyed{}
	m.pool.New = func() any { return &state{h: hmac.New(sha256.New, k)} }
	return m
}

// sum returns HMAC-SHA256(key, prefix || msg) in out.
func (m *Keyed) sum(out *[sha256.Size]byte, prefix, msg string) {
	s := m.pool.Get().(*state)
	s.h.Reset()
	s.msg = append(append(s.msg[:0], prefix...), msg...)
	s.h.Write(s.msg)
	*out = [sha256.Size]byte(s.h.Sum(s.sum[:0]))
	if cap(s.msg) > 4<<10 {
		s.msg = nil // a long message once does not stay with the state
	}
	m.pool.Put(s)
}

// Hex returns the first n bytes (at most 32) of HMAC-SHA256(key, prefix ||
// msg), in lower-case hex.
func (m *Keyed) Hex(prefix, msg string, n int) string {
	var out [sha256.Size]byte
	m.sum(&out, prefix, msg)
	var text [2 * sha256.Size]byte
	hex.Encode(text[:], out[:n])
	return string(text[:2*n]) // one allocation, where hex.EncodeToString makes two
}

// Base64 returns the first n bytes (at most 32) of HMAC-SHA256(key, prefix
// || msg), in standard base64.
func (m *Keyed) Base64(prefix, msg string, n int) string { return m.LabelledBase64("", prefix, msg, n) }

// LabelledBase64 is label followed by Base64(prefix, msg, n), made in one
// string: a value kept as the tail of the key it is found by (3-D Secure's
// "cavv/" and its authentication value) costs one allocation, not two.
func (m *Keyed) LabelledBase64(label, prefix, msg string, n int) string {
	var out [sha256.Size]byte
	m.sum(&out, prefix, msg)
	var text [64 + 44]byte // a short label, then base64 of 32 bytes
	if len(label) > 64 {
		return label + m.LabelledBase64("", prefix, msg, n)
	}
	enc := base64.StdEncoding
	copy(text[:], label)
	enc.Encode(text[len(label):], out[:n])
	return string(text[:len(label)+enc.EncodedLen(n)])
}
