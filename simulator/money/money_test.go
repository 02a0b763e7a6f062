package money_test

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/pspsim/pspsim/simulator/money"
)

func TestParse(t *testing.T) {
	cases := []struct {
		text, cur string
		want      int64
		rule      money.Rule
	}{
		{"123.23", "USD", 12323, ""},
		{"123.2", "USD", 12320, ""},
		{"123", "USD", 12300, ""},
		{"0", "USD", 0, ""},
		{"0.01", "USD", 1, ""},
		{"15000", "JPY", 15000, ""},
		{"1.234", "KWD", 1234, ""},
		{"92233720368547758.07", "USD", 9223372036854775807, ""},
		{"10.005", "USD", 0, money.RuleDecimals},
		{"1.0", "JPY", 0, money.RuleDecimals},
		{"-1.00", "USD", 0, money.RuleNegative},
		{"+1.00", "USD", 0, money.RuleNegative},
		{"1e2", "USD", 0, money.RuleFormat},
		{"1E2", "USD", 0, money.RuleFormat},
		{"NaN", "USD", 0, money.RuleFormat},
		{"Infinity", "USD", 0, money.RuleFormat},
		{"", "USD", 0, money.RuleFormat},
		{".5", "USD", 0, money.RuleFormat},
		{"5.", "USD", 0, money.RuleFormat},
		{"1,000.00", "USD", 0, money.RuleFormat},
		{" 1.00", "USD", 0, money.RuleFormat},
		{"0x10", "USD", 0, money.RuleFormat},
		{"01.00", "USD", 0, money.RuleFormat},
		{"92233720368547758.08", "USD", 0, money.RuleOverflow},
		{"1.00", "XYZ", 0, money.RuleCurrency},
		{"1.00", "usd", 0, money.RuleCurrency},
	}
	for _, c := range cases {
		t.Run(c.text+"_"+c.cur, func(t *testing.T) {
			got, err := money.Parse(c.text, c.cur)
			if c.rule == "" {
				if err != nil || got != c.want {
					t.Fatalf("Parse(%q,%q) = %d, %v; want %d", c.text, c.cur, got, err, c.want)
				}
				return
			}
			var pe *money.ParseError
			if !errors.As(err, &pe) || pe.Rule != c.rule {
				t.Fatalf("Parse(%q,%q) err = %v; want rule %s", c.text, c.cur, err, c.rule)
			}
		})
	}
}

func TestParsePositiveRefusesZero(t *testing.T) {
	var pe *money.ParseError
	if _, err := money.ParsePositive("0.00", "USD"); !errors.As(err, &pe) || pe.Rule != money.RulePositive {
		t.Fatalf("err = %v", err)
	}
	if v, err := money.ParsePositive("0.01", "USD"); err != nil || v != 1 {
		t.Fatalf("%d %v", v, err)
	}
}

func TestFormatRoundTrips(t *testing.T) {
	cases := []struct {
		minor int64
		cur   string
		want  string
	}{
		{12323, "USD", "123.23"}, {5, "USD", "0.05"}, {0, "USD", "0.00"}, {15000, "JPY", "15000"},
		{1234, "KWD", "1.234"}, {-501, "USD", "-5.01"}, {7, "CLF", "0.0007"},
	}
	for _, c := range cases {
		if got := money.Format(c.minor, c.cur); got != c.want {
			t.Errorf("Format(%d,%s) = %q, want %q", c.minor, c.cur, got, c.want)
		}
		if c.minor >= 0 {
			back, err := money.Parse(c.want, c.cur)
			if err != nil || back != c.minor {
				t.Errorf("round trip %q: %d %v", c.want, back, err)
			}
		}
	}
}

func TestExponentTable(t *testing.T) {
	for cur, want := range map[string]int{"USD": 2, "EUR": 2, "JPY": 0, "KRW": 0, "BHD": 3, "SGD": 2, "HKD": 2, "CLF": 4} {
		if got, ok := money.Exponent(cur); !ok || got != want {
			t.Errorf("Exponent(%s) = %d, %v; want %d", cur, got, ok, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"1.00", "0", "1e5", "-3", "99999999999999999999", ".", "1.2.3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := money.Parse(s, "USD")
		if err != nil {
			return
		}
		if v < 0 {
			t.Fatalf("negative result %d for %q", v, s)
		}
		// Whatever parses must format back to a value that parses to the same amount.
		back, err := money.Parse(money.Format(v, "USD"), "USD")
		if err != nil || back != v {
			t.Fatalf("%q → %d → %q → %d, %v", s, v, money.Format(v, "USD"), back, err)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	for b.Loop() {
		if _, err := money.Parse("12345.67", "USD"); err != nil {
			b.Fatal(err)
		}
	}
}

// formatBefore is Format as it was written before it wrote into a buffer:
// the reference it is held to.
func formatBefore(minor int64, currency string) string {
	exp, ok := money.Exponent(currency)
	if !ok {
		exp = 2
	}
	neg := minor < 0
	u := uint64(minor)
	if neg {
		u = uint64(-minor)
	}
	s := strconv.FormatUint(u, 10)
	if exp > 0 {
		if len(s) <= exp {
			s = strings.Repeat("0", exp-len(s)+1) + s
		}
		s = s[:len(s)-exp] + "." + s[len(s)-exp:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

func TestFormatAsBefore(t *testing.T) {
	for _, cur := range []string{"USD", "JPY", "KWD", "CLF", "XXX-unknown", ""} {
		for _, m := range []int64{0, 1, 9, 10, 99, 100, 101, 999, 1000, 12345, -1, -10, -100, -12345, math.MaxInt64, math.MinInt64, math.MinInt64 + 1} {
			if got, want := money.Format(m, cur), formatBefore(m, cur); got != want {
				t.Errorf("Format(%d, %s) = %q, want %q", m, cur, got, want)
			}
			if got, want := string(money.AppendFormat([]byte("x"), m, cur)), "x"+formatBefore(m, cur); got != want {
				t.Errorf("AppendFormat(%d, %s) = %q, want %q", m, cur, got, want)
			}
		}
	}
	if n := testing.AllocsPerRun(100, func() { money.Format(1999, "USD") }); n != 1 {
		t.Errorf("Format: %.0f allocations, want 1", n)
	}
}

func FuzzFormatAsBefore(f *testing.F) {
	f.Add(int64(1999), "USD")
	f.Add(int64(-5), "KWD")
	f.Fuzz(func(t *testing.T, m int64, cur string) {
		if got, want := money.Format(m, cur), formatBefore(m, cur); got != want {
			t.Fatalf("Format(%d, %q) = %q, want %q", m, cur, got, want)
		}
	})
}
