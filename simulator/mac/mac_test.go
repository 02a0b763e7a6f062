package mac

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"sync"
	"testing"
)

func reference(key, msg string) []byte {
	h := hmac.New(sha256.New, []byte(key))
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// The pooled states give crypto/hmac's answer for every message, in any
// order, from many goroutines at once (run with -race).
func TestKeyedIsHMACSHA256(t *testing.T) {
	k := New([]byte("a key of the run"))
	labels := []string{"", "cavv/", string(make([]byte, 64)), string(make([]byte, 65))}
	msgs := []struct{ prefix, msg string }{{"", ""}, {"", "4000123456000019"}, {"cavv|", "f1c8a4e2-0000-4000-8000-000000000001"}, {"x", string(make([]byte, 200))}, {"long", string(make([]byte, 5000))}}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				for _, m := range msgs {
					want := reference("a key of the run", m.prefix+m.msg)
					if got := k.Hex(m.prefix, m.msg, 16); got != hex.EncodeToString(want[:16]) {
						t.Errorf("Hex(%q, %q) = %s", m.prefix, m.msg, got)
					}
					if got := k.Base64(m.prefix, m.msg, 20); got != base64.StdEncoding.EncodeToString(want[:20]) {
						t.Errorf("Base64(%q, %q) = %s", m.prefix, m.msg, got)
					}
					for _, label := range labels {
						for _, n := range []int{1, 20, 32} {
							if got := k.LabelledBase64(label, m.prefix, m.msg, n); got != label+base64.StdEncoding.EncodeToString(want[:n]) {
								t.Errorf("LabelledBase64(%q, %q, %q, %d) = %s", label, m.prefix, m.msg, n, got)
							}
						}
					}
				}
			}
		}()
	}
	wg.Wait()
}

func TestKeyedCopiesItsKey(t *testing.T) {
	key := []byte("k1")
	k := New(key)
	key[0] = 'x'
	want := reference("k1", "m")
	if got := k.Hex("", "m", 32); got != hex.EncodeToString(want) {
		t.Fatal("the key was not copied")
	}
}

func BenchmarkKeyedHex(b *testing.B) {
	k := New([]byte("a key of the run"))
	b.ReportAllocs()
	for b.Loop() {
		k.Hex("", "4000123456000019", 16)
	}
}

func BenchmarkHMACNewHex(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		h := hmac.New(sha256.New, []byte("a key of the run"))
		h.Write([]byte("4000123456000019"))
		hex.EncodeToString(h.Sum(nil)[:16])
	}
}

// LabelledBase64 is one allocation: the label and the value in one string.
func TestLabelledBase64IsOneAllocation(t *testing.T) {
	if raceOn {
		t.Skip("the race detector drops pooled states")
	}
	k := New([]byte("a key of the run"))
	if n := testing.AllocsPerRun(100, func() { k.LabelledBase64("cavv/", "cavv|", "f1c8a4e2-0000-4000-8000-000000000001", 20) }); n != 1 {
		t.Fatalf("%v allocations", n)
	}
}

func BenchmarkKeyedLabelledBase64(b *testing.B) {
	k := New([]byte("a key of the run"))
	b.ReportAllocs()
	for b.Loop() {
		k.LabelledBase64("cavv/", "cavv|", "f1c8a4e2-0000-4000-8000-000000000001", 20)
	}
}
