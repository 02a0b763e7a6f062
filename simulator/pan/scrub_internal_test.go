package pan

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// scrubSlow is Scrub without its fast path: every text written through
// eachRun, masked or not.
func scrubSlow(s string) string {
	var out strings.Builder
	eachRun(s, &out)
	return out.String()
}

var scrubSamples = []string{
	"", "x", "card 4000123456000019 declined", "card 4000 1234 5600 0019 declined", "4000-1234-5600-0019.",
	"ts 1709106082819", "order 20220828000002", "trans 5021000010210602000003", "declined card 4571736012345674 1230 7319",
	"ref 12 4000 1234 5600 0019 exp 12-30", "40000456000019 1", "4000123456000019-5100123456000015", "visa 4222 2222 22222 ok",
	"twelve 4222-2222-2222", "x1 4000123456000019", "1 - 4000 1234 5600 0019", "a-4000123456000019", "12 34 56 78 90 12 34",
	"payment 20261122100000305936: new → CAPTURED", "2d4aa6de-f700-4655-bfd5-1fe4fe647bae",
	"0019 4000 1234 5600 0019 4000", "4000123456000019x4000123456000019", " 4000123456000019 ", "--4000--1234--5600--0019",
}

// TestScrubIsItsSlowPath holds Scrub, which skips the texts without a long
// run of digits and looks into runs of 13 digits or more only, to writing
// every text through eachRun: the samples, then random texts of digits,
// separators and letters.
func TestScrubIsItsSlowPath(t *testing.T) {
	for _, s := range scrubSamples {
		if got, want := Scrub(s), scrubSlow(s); got != want {
			t.Fatalf("Scrub(%q) = %q, the slow path gives %q", s, got, want)
		}
	}
	pans := []string{"4000123456000019", "5100123456000015", "4222222222222", "4571736012345674"}
	eachRandomText(3, "0123456789012345678901234567894 - x*", pans, func(s string) {
		if got, want := Scrub(s), scrubSlow(s); got != want {
			t.Fatalf("Scrub(%q) = %q, the slow path gives %q", s, got, want)
		}
	})
}

// eachRandomText calls fn with 200 000 random texts of up to 60 of
// alphabet's bytes, where about one in twenty is instead one of pans.
func eachRandomText(seed uint64, alphabet string, pans []string, fn func(s string)) {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	for range 200_000 {
		var b strings.Builder
		for range rng.IntN(60) {
			if rng.IntN(20) == 0 {
				b.WriteString(pans[rng.IntN(len(pans))])
				continue
			}
			b.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		fn(b.String())
	}
}

func FuzzScrubIsItsSlowPath(f *testing.F) {
	for _, s := range scrubSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Scrub(s), scrubSlow(s); got != want {
			t.Fatalf("Scrub(%q) = %q, the slow path gives %q", s, got, want)
		}
	})
}

// maskAsConcatenated is Mask as it was written before it wrote into one
// allocation.
func maskAsConcatenated(pan string) string {
	n := len(pan)
	switch {
	case n >= 13:
		return pan[:6] + strings.Repeat("*", n-10) + pan[n-4:]
	case n > 4:
		return strings.Repeat("*", n-4) + pan[n-4:]
	default:
		return strings.Repeat("*", n)
	}
}

// onlyDigitsAsBuilt is onlyDigits as it was before it returned a text of
// digits as it is.
func onlyDigitsAsBuilt(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			b.WriteByte(s[i])
		} else if s[i] != ' ' && s[i] != '-' {
			return ""
		}
	}
	return b.String()
}

func TestMaskAndOnlyDigitsAreAsBefore(t *testing.T) {
	const digits = "40001234560000190123456789"
	for n := range len(digits) + 1 {
		if got, want := Mask(digits[:n]), maskAsConcatenated(digits[:n]); got != want {
			t.Errorf("Mask(%q) = %q, want %q", digits[:n], got, want)
		}
	}
	for _, s := range []string{"", "4000123456000019", "4000 1234 5600 0019", "4000-1234-5600-0019", "-4000", "4000 ", "12a4", "a", " ", "x4000123456000019", "4000123456000019x"} {
		if got, want := onlyDigits(s), onlyDigitsAsBuilt(s); got != want {
			t.Errorf("onlyDigits(%q) = %q, want %q", s, got, want)
		}
	}
}

func FuzzMaskAndOnlyDigitsAreAsBefore(f *testing.F) {
	f.Add("4000123456000019")
	f.Add("4000 1234-5600 0019")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Mask(s), maskAsConcatenated(s); got != want {
			t.Fatalf("Mask(%q) = %q, want %q", s, got, want)
		}
		if got, want := onlyDigits(s), onlyDigitsAsBuilt(s); got != want {
			t.Fatalf("onlyDigits(%q) = %q, want %q", s, got, want)
		}
	})
}

// scrubAsBefore is Scrub's slow path as it was before scrubRun skipped the
// runs that begin with a digit no card number begins with, and
// looksLikePAN summed the digits before looking at the first.
func scrubAsBefore(s string) string {
	var out strings.Builder
	var gbuf [16][2]int
	var dbuf [19]byte
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			out.WriteByte(s[i])
			i++
			continue
		}
		groups, _ := digitRun(s, i, gbuf[:0])
		scrubRunAsBefore(&out, s, groups, dbuf[:0])
		i = groups[len(groups)-1][1]
	}
	return out.String()
}

func scrubRunAsBefore(out *strings.Builder, s string, groups [][2]int, digits []byte) {
	for g := 0; g < len(groups); {
		masked := false
		last := g
		n := 0
		for last < len(groups) && n+groups[last][1]-groups[last][0] <= 19 {
			n += groups[last][1] - groups[last][0]
			last++
		}
		for end := last - 1; end >= g; end-- {
			digits = digits[:0]
			for k := g; k <= end; k++ {
				digits = append(digits, s[groups[k][0]:groups[k][1]]...)
			}
			if looksLikePANAsBefore(string(digits)) {
				out.WriteString(Mask(string(digits)))
				g = end + 1
				masked = true
				break
			}
		}
		if !masked {
			out.WriteString(s[groups[g][0]:groups[g][1]])
			g++
		}
		if g < len(groups) {
			out.WriteString(s[groups[g-1][1]:groups[g][0]])
		}
	}
}

func looksLikePANAsBefore(d string) bool {
	if len(d) < 13 || len(d) > 19 || !luhn(d) {
		return false
	}
	switch d[0] {
	case '3', '4', '5', '6':
		return true
	case '2':
		p := (int(d[1]-'0')*10+int(d[2]-'0'))*10 + int(d[3]-'0')
		return p >= 221 && p <= 720
	}
	return false
}

// checkScrubAsBefore holds Scrub to scrubAsBefore, HoldsPAN to Scrub
// changing s, and Value under a key ByKey refuses to Scrub.
func checkScrubAsBefore(t testing.TB, s string) {
	t.Helper()
	got, want := Scrub(s), scrubAsBefore(s)
	if got != want {
		t.Fatalf("Scrub(%q) = %q, before it gave %q", s, got, want)
	}
	if HoldsPAN(s) != (got != s) {
		t.Fatalf("HoldsPAN(%q) = %v, Scrub gives %q", s, HoldsPAN(s), got)
	}
	for _, k := range byKeySamples {
		if !ByKey(k) && Value(k, s) != got {
			t.Fatalf("ByKey(%q) is false, yet Value(%[1]q, %q) = %q, not Scrub's %q", k, s, Value(k, s), got)
		}
	}
}

// byKeySamples are names of ids and fields, some that mask by name.
var byKeySamples = []string{"", "answer", "request", "orderNo", "tradeNo", "appId", "cvv", "CVC2", "card_no", "cardNumber", "Card-Number",
	"number", "pan", "secret", "clientSecret", "OTP", "pans", "numbers", "_pan_", "accountNumber", "authorization", "plain_text", "threeDsServerTransId"}

func TestByKey(t *testing.T) {
	want := map[string]bool{"cvv": true, "CVC2": true, "card_no": true, "cardNumber": true, "Card-Number": true, "number": true, "pan": true,
		"secret": true, "clientSecret": true, "OTP": true, "_pan_": true, "accountNumber": true, "authorization": true, "plain_text": true}
	for _, k := range byKeySamples {
		if ByKey(k) != want[k] {
			t.Errorf("ByKey(%q) = %v", k, ByKey(k))
		}
	}
}

// TestScrubIsAsBefore: the samples, then random texts of digits (more of
// those a card number begins with), separators and letters.
func TestScrubIsAsBefore(t *testing.T) {
	for _, s := range scrubSamples {
		checkScrubAsBefore(t, s)
	}
	pans := []string{"4000123456000019", "5100123456000015", "4222222222222", "4571736012345674", "2223000048400011", "378282246310005"}
	eachRandomText(9, "01234567890123456789234562345645 - x*", pans, func(s string) { checkScrubAsBefore(t, s) })
}

func FuzzScrubIsAsBefore(f *testing.F) {
	for _, s := range scrubSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkScrubAsBefore(t, s)
	})
}

// keyClassAsBefore is keyClass as it was before it told most names apart
// by their first letter.
func keyClassAsBefore(k string) (secret string, isPAN bool) {
	if len(k) > 32 {
		return "", false
	}
	var buf [32]byte
	n := 0
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c == '_' || c == '-':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		buf[n] = c
		n++
	}
	switch string(buf[:n]) {
	case "cvv", "cvc", "cvv2", "cvc2", "securitycode", "otp":
		return "***", false
	case "secret", "clientsecret", "privatekey", "password", "accesstoken", "authorization", "plaintext":
		return "[redacted]", false
	case "pan", "cardno", "cardnumber", "number", "accountnumber":
		return "", true
	}
	return "", false
}

func checkKeyClass(t testing.TB, k string) {
	t.Helper()
	s, p := keyClass(k)
	if ws, wp := keyClassAsBefore(k); s != ws || p != wp {
		t.Fatalf("keyClass(%q) = %q, %v; before %q, %v", k, s, p, ws, wp)
	}
}

// TestKeyClassIsAsBefore: every name of the lists, written in other
// cases, with separators before and in them, and names that are not.
func TestKeyClassIsAsBefore(t *testing.T) {
	names := []string{"cvv", "cvc", "cvv2", "cvc2", "securitycode", "otp", "secret", "clientsecret", "privatekey", "password",
		"accesstoken", "authorization", "plaintext", "pan", "cardno", "cardnumber", "number", "accountnumber"}
	found := 0
	for _, n := range names {
		for _, k := range []string{n, strings.ToUpper(n), "_" + n, n + "_", "-" + n + "--", n[:len(n)-1] + "\x12", "-_" + strings.ToUpper(n[:1]) + n[1:], n[:1] + "_" + n[1:], "x" + n, n + "x", "@" + n[1:], "\x01" + n[1:]} {
			checkKeyClass(t, k)
			if s, p := keyClass(k); s != "" || p {
				found++
			}
		}
	}
	if found < 4*len(names) {
		t.Errorf("only %d names masked", found)
	}
	for _, k := range append(byKeySamples, "", "_", "--", "A", "Zpan", strings.Repeat("_", 40)+"pan") {
		checkKeyClass(t, k)
	}
}

func FuzzKeyClassIsAsBefore(f *testing.F) {
	for _, k := range byKeySamples {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, k string) {
		checkKeyClass(t, k)
	})
}

func TestRunClass(t *testing.T) {
	for c := 0; c < 256; c++ {
		want := byte(0)
		switch {
		case isDigit(byte(c)):
			want = 3
		case c == ' ' || c == '-':
			want = 2
		}
		if runClass[c] != want {
			t.Errorf("runClass[%#x] = %d, want %d", c, runClass[c], want)
		}
	}
}

// longDigitRunAsBefore is longDigitRun as it was before it counted
// without a branch.
func longDigitRunAsBefore(s string) int {
	run, from := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			run++
			if run >= minPANDigits {
				return from
			}
		case c == ' ' || c == '-':
		default:
			run, from = 0, i+1
		}
	}
	return -1
}

func TestLongDigitRunIsAsBefore(t *testing.T) {
	for _, s := range append(scrubSamples, "1234567890123", "x1234567890123", "12 34-56  78--90 123x", "123456789012", "--1234567890123") {
		if got, want := longDigitRun(s), longDigitRunAsBefore(s); got != want {
			t.Errorf("longDigitRun(%q) = %d, before %d", s, got, want)
		}
	}
}

func FuzzLongDigitRunIsAsBefore(f *testing.F) {
	for _, s := range scrubSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := longDigitRun(s), longDigitRunAsBefore(s); got != want {
			t.Fatalf("longDigitRun(%q) = %d, before %d", s, got, want)
		}
	})
}

// checkHoldsPAN holds HoldsPAN, which looks only into the stretches of
// digits holding as many as a card number, to its word: Scrub's slow path
// (every run looked into) changes s, and to hasPAN of the whole text.
func checkHoldsPAN(t testing.TB, s string) {
	t.Helper()
	want := scrubSlow(s) != s
	if got := HoldsPAN(s); got != want {
		t.Fatalf("HoldsPAN(%q) = %v, the slow path changes it: %v", s, got, want)
	}
	if got := hasPAN(s); got != want {
		t.Fatalf("hasPAN(%q) = %v, the slow path changes it: %v", s, got, want)
	}
}

// TestHoldsPANIsScrub: the samples, each after a long number that holds no
// card (as a payment's answer begins), then random texts.
func TestHoldsPANIsScrub(t *testing.T) {
	for _, s := range scrubSamples {
		checkHoldsPAN(t, s)
		checkHoldsPAN(t, "trade 20261122100000305936 amount 19.99 "+s)
		checkHoldsPAN(t, s+" 1 2 3 4 5 6 7 8 9 0 1 2 3")
	}
	pans := []string{"4000123456000019", "5100123456000015", "4222222222222", "4571736012345674", "20261122100000305936", "1234567890123"}
	eachRandomText(19, "0123456789012345678901234567894 - x*", pans, func(s string) { checkHoldsPAN(t, s) })
}

func FuzzHoldsPANIsScrub(f *testing.F) {
	for _, s := range scrubSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkHoldsPAN(t, s)
	})
}

// BenchmarkLongDigitRunText counts through a clipped payment answer that
// holds no long number (as HoldsPAN reads a clipped body's text).
func BenchmarkLongDigitRunText(b *testing.B) {
	s := `{"tradeNo":"202611221000","orderNo":"B100000001","status":"CAPTURED","paymentMethodType":"card","amount":"19.99","currency":"USD","authorizedAmount":"19.99","capturedAmount":"19.99","refundedAmount":"0.00","captureMethod":"auto","environment":"sandbox","description":"test order","threeDs":{"mode":"auto","flow":"frictionless","version":"2.2.0","transStatus":"Y","eci":"05","dsTransId":"2d4aa6de-f700-4655-bfd5-1fe4fe647bae","acsTransId":"a9b923c4-4378-4f40-a54c-61e777837df3","threeDsServerTransId":"e0d866ae-779a-4149-8074-961f8e4de246","liabilityShift":true},"nextAction":{"type":"none"},"… (722 bytes)`
	for b.Loop() {
		if longDigitRun(s) >= 0 {
			b.Fatal("found")
		}
	}
}
