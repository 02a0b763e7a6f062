// Package ids makes identifiers (trans_no, tradeNo, tokens, UUIDs) from a
// seeded generator, so that `pspsim serve --seed N` gives the same ids, fake
// data and probabilistic faults run after run, and a failing CI run can be
// replayed. Without a seed the simulator draws one and logs it.
package ids

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Generator is a goroutine-safe deterministic source of identifiers.
type Generator struct {
	seed uint64
	mu   sync.Mutex
	r    *mrand.Rand
	// echo, when not nil, holds the draw to hand out a second time, by
	// shape (see Echo).
	echo map[string]string
}

// NewEcho returns a generator seeded with seed that hands out every id
// twice (Digits, Alnum, Hex and UUID; the numbers of Uint64, Float64 and
// IntN are not ids): the second draw of a shape repeats the first, the third
// is new, the fourth repeats it... Under it, every second creation of an
// object draws an id that is taken: the storm tests run the simulator on an
// echoing generator to prove that each kind of id is claimed when it is
// stored (store.NewID), not merely drawn. Never serve with it. Its derived
// generators echo too.
func NewEcho(seed uint64) *Generator {
	g := New(seed)
	g.echo = map[string]string{}
	return g
}

// draw makes one id of a shape ("digits/6") with make, under the lock; an
// echoing generator hands out each one twice.
func (g *Generator) draw(shape string, make func() string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.echo != nil {
		if v, ok := g.echo[shape]; ok {
			delete(g.echo, shape)
			return v
		}
	}
	v := make()
	if g.echo != nil {
		g.echo[shape] = v
	}
	return v
}

// New returns a generator seeded with seed.
func New(seed uint64) *Generator {
	return &Generator{seed: seed, r: mrand.New(mrand.NewPCG(seed, 0x5053_5053_494d))}
}

// RandomSeed draws a seed from the operating system, for runs without --seed.
func RandomSeed() uint64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("ids: no system randomness: %v", err)) // crypto/rand never fails on supported platforms
	}
	return binary.LittleEndian.Uint64(b[:])
}

// Seed returns the seed the generator started from.
func (g *Generator) Seed() uint64 { return g.seed }

// Derive returns an independent generator for one purpose ("faults",
// "fakedata"), so that drawing ids does not shift the fault decisions.
func (g *Generator) Derive(label string) *Generator {
	h := fnv.New64a()
	h.Write([]byte(label))
	d := &Generator{seed: g.seed, r: mrand.New(mrand.NewPCG(g.seed, h.Sum64()))}
	if g.echo != nil {
		d.echo = map[string]string{}
	}
	return d
}

// Uint64 returns a pseudo-random number.
func (g *Generator) Uint64() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.r.Uint64()
}

// Float64 returns a pseudo-random number in [0, 1).
func (g *Generator) Float64() float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.r.Float64()
}

// IntN returns a pseudo-random number in [0, n).
func (g *Generator) IntN(n int) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.r.IntN(n)
}

// Digits returns n decimal digits, the first one non-zero.
func (g *Generator) Digits(n int) string {
	if g.echo == nil && n >= 0 && n <= maxStackDigits {
		// What draw does for a generator that does not echo, without its
		// shape's name and closure: the string is the one allocation (a
		// tradeNo's digits took four).
		var buf [maxStackDigits]byte
		g.mu.Lock()
		g.fillDigits(buf[:n])
		g.mu.Unlock()
		return string(buf[:n])
	}
	return g.draw("digits/"+strconv.Itoa(n), func() string {
		b := make([]byte, n)
		g.fillDigits(b)
		return string(b)
	})
}

// maxStackDigits bounds the digits Digits and Stamped draw on the stack.
const maxStackDigits = 64

// fillDigits draws len(b) decimal digits into b, the first one non-zero.
// The caller holds g.mu.
func (g *Generator) fillDigits(b []byte) {
	for i := range b {
		b[i] = byte('0' + g.r.IntN(10))
	}
	if len(b) > 0 && b[0] == '0' {
		b[0] = byte('1' + g.r.IntN(9))
	}
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// Alnum returns n letters and digits.
func (g *Generator) Alnum(n int) string {
	return g.draw("alnum/"+strconv.Itoa(n), func() string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alnum[g.r.IntN(len(alnum))]
		}
		return string(b)
	})
}

// Hex returns n random bytes as lower-case hex (2n characters).
func (g *Generator) Hex(n int) string {
	return g.draw("hex/"+strconv.Itoa(n), func() string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(g.r.Uint32())
		}
		return hex.EncodeToString(b)
	})
}

// Prefixed returns prefix followed by n digits, e.g. Prefixed("PI", 19).
func (g *Generator) Prefixed(prefix string, n int) string { return prefix + g.Digits(n) }

// StampLayout is the time stamp of the vendors' time-stamped ids
// (tradeNo, Genstore's payment ids): yyyyMMddHHmmss, UTC.
const StampLayout = "20060102150405"

// Stamped returns prefix, the time stamp of at (StampLayout, UTC) and n
// digits: the shape of the vendors' time-stamped ids. attempt is the draw's
// number for one new object (store.NewID counts it): the first few draws
// use at itself; later ones — when at's second is practically spent, as it
// is when a simulated clock stands still through thousands of creations —
// move the stamp forward, further with each draw (1, 4, 9… seconds), so that
// an id is always found. Ids are opaque: a stamp a little ahead of the clock
// is no fault.
func (g *Generator) Stamped(prefix string, at time.Time, n, attempt int) string {
	if k := attempt - stampedAtFirst + 1; k > 0 {
		at = at.Add(time.Duration(k*k) * time.Second)
	}
	if g.echo != nil || n < 0 || n > maxStackDigits {
		return prefix + at.UTC().Format(StampLayout) + g.Digits(n)
	}
	// The same text written in one buffer: one allocation, not four (the
	// stamp, the digits and their concatenation).
	var buf [128]byte
	b := at.UTC().AppendFormat(append(buf[:0], prefix...), StampLayout)
	start := len(b)
	b = append(b, buf[:n]...) // room for the digits
	g.mu.Lock()
	g.fillDigits(b[start:])
	g.mu.Unlock()
	return string(b)
}

// stampedAtFirst is how many draws of Stamped keep the given time.
const stampedAtFirst = 8

// UUID returns a version-4 UUID drawn from the generator.
func (g *Generator) UUID() string {
	return g.draw("uuid", func() string {
		b := g.uuidBits()
		return formatUUID(&b)
	})
}

// uuidBits draws a version 4 UUID's bytes. The caller holds g.mu.
func (g *Generator) uuidBits() (b [16]byte) {
	binary.LittleEndian.PutUint64(b[:8], g.r.Uint64())
	binary.LittleEndian.PutUint64(b[8:], g.r.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return b
}

// PrefixedUUID returns prefix and a UUID, drawn as UUID draws it, in one
// string: prefix + g.UUID() in one allocation instead of two (a 3-D Secure
// authentication keeps two UUIDs as the tails of their unique keys).
func (g *Generator) PrefixedUUID(prefix string) string {
	if g.echo != nil {
		return prefix + g.UUID() // the echo keeps UUIDs, unprefixed
	}
	g.mu.Lock()
	b := g.uuidBits()
	g.mu.Unlock()
	var out [36]byte
	appendUUID(&out, &b)
	var sb strings.Builder
	sb.Grow(len(prefix) + len(out))
	sb.WriteString(prefix)
	sb.Write(out[:])
	return sb.String()
}

// formatUUID writes b as 8-4-4-4-12 lower-case hex in one allocation (the
// hex text, then the dashes concatenated, made three: a card payment draws
// three UUIDs).
func formatUUID(b *[16]byte) string {
	var out [36]byte
	appendUUID(&out, b)
	return string(out[:])
}

// appendUUID writes b as 8-4-4-4-12 lower-case hex into out.
func appendUUID(out *[36]byte, b *[16]byte) {
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
}
