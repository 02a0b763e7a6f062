package paymentapp

import "testing"

func TestAmounts(t *testing.T) {
	for _, tc := range []struct {
		in, currency string
		minor        int64
		out          string
		bad          bool
	}{
		{in: "123.23", currency: "USD", minor: 12323, out: "123.23"},
		{in: "0.01", currency: "USD", minor: 1, out: "0.01"},
		{in: "1.5", currency: "USD", minor: 150, out: "1.50"},
		{in: "100", currency: "USD", minor: 10000, out: "100.00"},
		{in: "15000", currency: "JPY", minor: 15000, out: "15000"},
		{in: "1.234", currency: "KWD", minor: 1234, out: "1.234"},
		{in: "1.001", currency: "USD", bad: true},
		{in: "100.5", currency: "JPY", bad: true},
		{in: "-1.00", currency: "USD", bad: true},
		{in: "01.00", currency: "USD", bad: true},
		{in: "1e3", currency: "USD", bad: true},
		{in: "", currency: "USD", bad: true},
		{in: "1.00", currency: "usd", bad: true},
		{in: "9999999999999999", currency: "USD", bad: true},
	} {
		got, err := parseAmount(tc.in, tc.currency)
		if tc.bad {
			if err == nil {
				t.Errorf("parseAmount(%q, %s) = %d, want an error", tc.in, tc.currency, got)
			}
			continue
		}
		if err != nil || got != tc.minor {
			t.Errorf("parseAmount(%q, %s) = %d, %v; want %d", tc.in, tc.currency, got, err, tc.minor)
			continue
		}
		if out := formatAmount(got, tc.currency); out != tc.out {
			t.Errorf("formatAmount(%d, %s) = %q, want %q", got, tc.currency, out, tc.out)
		}
	}
	if got := formatAmount(5, "USD"); got != "0.05" {
		t.Errorf("formatAmount(5, USD) = %q", got)
	}
}
