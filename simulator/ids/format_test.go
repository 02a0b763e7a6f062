package ids

import (
	"encoding/hex"
	"math/rand/v2"
	"testing"
)

// TestUUIDFormatIsTheDashedHex holds formatUUID to the formula it replaced.
func TestUUIDFormatIsTheDashedHex(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 10_000 {
		var b [16]byte
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		h := hex.EncodeToString(b[:])
		if got, want := formatUUID(&b), h[0:8]+"-"+h[8:12]+"-"+h[12:16]+"-"+h[16:20]+"-"+h[20:]; got != want {
			t.Fatalf("formatUUID(%x) = %s, want %s", b, got, want)
		}
	}
}
