package faults

import (
	"slices"
	"strings"
	"testing"
)

func TestDecimalCompareAndCents(t *testing.T) {
	cases := []struct {
		a, b  string
		cmp   int
		cents int // of a; -1: none
	}{
		{"10.51", "10.51", 0, 51},
		{"10.510", "10.51", 0, 51},
		{"0010.5", "10.50", 0, 50},
		{"9.99", "10", -1, 99},
		{"100", "99.999", 1, 0},
		{"0.51", "0.5", 1, 51},
		{"0.501", "0.51", -1, -1},
		{"15051", "15051", 0, 0},
	}
	for _, c := range cases {
		a, ok1 := parseDecimal(c.a)
		b, ok2 := parseDecimal(c.b)
		if !ok1 || !ok2 {
			t.Fatalf("%s or %s not parsed", c.a, c.b)
		}
		if got := a.cmp(b); got != c.cmp {
			t.Errorf("cmp(%s, %s) = %d, want %d", c.a, c.b, got, c.cmp)
		}
		cents, ok := a.cents()
		if (c.cents < 0 && ok) || (c.cents >= 0 && (!ok || cents != c.cents)) {
			t.Errorf("cents(%s) = %d %v, want %d", c.a, cents, ok, c.cents)
		}
	}
	for _, bad := range []string{"", "1e3", "-1", "1.", ".5", "1.2.3", "12a", "１"} {
		if _, ok := parseDecimal(bad); ok {
			t.Errorf("%q parsed as a decimal", bad)
		}
	}
}

func TestBodyAmountReadsEachSystemsFields(t *testing.T) {
	cases := []struct {
		name, body, want string
	}{
		{"gateway string", `{"orderNo":"A1","amount":"199.68","currency":"USD"}`, "199.68"},
		{"codepay number", `{"method":"wisehub.cloud.pay.order","order_amount":10.51,"tip_amount":1}`, "10.51"},
		{"codepay refund", `{"trans_amount": 3.50, "merchant_no":"3121"}`, "3.5"},
		{"gateway capture", `{"orderNo":"A1","captureAmount":"5.00"}`, "5"},
		{"amount beats order_amount", `{"order_amount":1.00,"amount":"2.00"}`, "2"},
		{"value object", `{"amount":{"value":"7.51","currency":"EUR"}}`, "7.51"},
		{"shallowest wins", `{"items":[{"amount":"1.00"}],"amount":"9.00"}`, "9"},
		{"nested only", `{"pay":{"amount":"4.20"}}`, "4.2"},
		{"none", `{"orderNo":"A1"}`, ""},
		{"not an amount", `{"amount":"lots"}`, ""},
		{"escaped key is not the field", `{"x":"\"amount\":1","y":2}`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, ok := bodyAmount([]byte(c.body))
			got := ""
			if ok {
				got = string(d.ip)
				if len(d.fp) > 0 {
					got += "." + string(d.fp)
				}
			}
			if got != c.want {
				t.Fatalf("amount %q, want %q", got, c.want)
			}
		})
	}
}

func TestBodyCardReadsWellKnownFields(t *testing.T) {
	cases := []struct{ name, body, want string }{
		{"gateway card.cardNo", `{"card":{"cardNo":"4000123456000019","cvc":"123"}}`, "4000123456000019"},
		{"card.number", `{"paymentMethod":{"card":{"number":"5100 1234 5600 0015"}}}`, "5100123456000015"},
		{"codepay pan", `{"pan":"4000123456000027"}`, "4000123456000027"},
		{"number elsewhere is not a card", `{"phone":{"number":"18510775231000"}}`, ""},
		{"encrypted", `{"pan":"AbC0+/=="}`, ""},
	}
	for _, c := range cases {
		got, _ := bodyCard([]byte(c.body))
		if got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// TestWalkJSONSurvivesBrokenInput: the walker meets only validated bodies,
// but must never panic or loop on anything.
func TestWalkJSONSurvivesBrokenInput(t *testing.T) {
	inputs := []string{"", "{", "[", `{"a"`, `{"a":`, `{"a":1`, `{"a":"\`, `[[[[[[[[[[[[[[[[[[[[`, `{"a":[1,2,}`, `}`, `"x"`, `nul`,
		strings.Repeat(`{"a":`, 10000), `{"a":1 "b":2}`, `{"a" 1}`}
	for _, in := range inputs {
		n := 0
		walkJSON([]byte(in), func(_, _, _ []byte, _ int) bool { n++; return true })
	}
}

func FuzzWalkJSON(f *testing.F) {
	f.Add([]byte(`{"amount":"10.51","card":{"number":"4000123456000019"}}`))
	f.Add([]byte(`[{"a":[1,{"b":"c"}]}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		walkJSON(b, func(_, _, v []byte, depth int) bool {
			if depth > maxJSONDepth {
				t.Fatalf("depth %d", depth)
			}
			return true
		})
		bodyAmount(b)
		bodyCard(b)
	})
}

func TestUnitIsUniformEnoughAndFixed(t *testing.T) {
	below := 0
	for n := uint64(1); n <= 10000; n++ {
		u := unit(42, n, 0)
		if u < 0 || u >= 1 {
			t.Fatalf("unit out of range: %v", u)
		}
		if u != unit(42, n, 0) {
			t.Fatal("unit is not a function of its inputs")
		}
		if u < 0.25 {
			below++
		}
	}
	if below < 2300 || below > 2700 {
		t.Fatalf("%d of 10000 draws below 0.25", below)
	}
}

// bodyAmountExhaustive is bodyAmount walking the whole body: the reference
// for its early stop.
func bodyAmountExhaustive(body []byte) (decimal, bool) {
	w := jwalk{b: body, mode: walkAmount, best: len(amountFields), bestDepth: 1 << 30, exhaustive: true}
	w.value(nil, nil, 0)
	if w.found == nil {
		return decimal{}, false
	}
	return parseDecimalBytes(w.found)
}

// TestBodyAmountStopsEarlyAlike: bodyAmount stops at a top-level "amount"
// and reads the same amount as the walk of the whole body.
func TestBodyAmountStopsEarlyAlike(t *testing.T) {
	bodies := []string{
		`{"orderNo":"A1","amount":"199.68","currency":"USD","items":[{"amount":"1.00"}]}`,
		`{"amount":"1.51","amount":"2.52"}`,
		`{"amount":{"value":"7.51","currency":"EUR"},"amount":"3.00"}`,
		`{"amount":{"currency":"EUR","value":"7.51"},"amount":"3.00"}`,
		`{"order_amount":1.00,"amount":"2.00","captureAmount":"3.00"}`,
		`{"amount":"5.00",`,
		`{"amount":"lots","x":{"amount":"1.00"}}`,
		`[{"amount":"4.00"},{"amount":"5.00"}]`,
		`{"pay":{"amount":"4.20"},"amount":"6.00"}`,
	}
	for _, b := range bodies {
		got, gotOK := bodyAmount([]byte(b))
		want, wantOK := bodyAmountExhaustive([]byte(b))
		if gotOK != wantOK || string(got.ip) != string(want.ip) || string(got.fp) != string(want.fp) {
			t.Errorf("%s: %v %s.%s, the whole walk %v %s.%s", b, gotOK, got.ip, got.fp, wantOK, want.ip, want.fp)
		}
	}
}

func FuzzBodyAmountStopsEarlyAlike(f *testing.F) {
	f.Add([]byte(`{"orderNo":"A1","amount":"199.68","currency":"USD","items":[{"amount":"1.00"}]}`))
	f.Add([]byte(`{"amount":{"value":"7.51"},"amount":"3.00"}`))
	f.Add([]byte(`[{"amount":"4.00"},{"amount":"5.00"}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, gotOK := bodyAmount(b)
		want, wantOK := bodyAmountExhaustive(b)
		if gotOK != wantOK || string(got.ip) != string(want.ip) || string(got.fp) != string(want.fp) {
			t.Fatalf("%q: %v %s.%s, the whole walk %v %s.%s", b, gotOK, got.ip, got.fp, wantOK, want.ip, want.fp)
		}
	})
}

// TestAPIForOpIsAPIForWithoutOtherOperations: the rules a call of an
// operation evaluates are the system's, in order, less those naming only
// other operations (which Match.matches refuses).
func TestAPIForOpIsAPIForWithoutOtherOperations(t *testing.T) {
	e := New(Options{})
	mk := func(id, system string, ops ...string) *installed {
		return &installed{rule: Rule{ID: id, Match: Match{System: system, Operations: ops}}, target: API}
	}
	e.mu.Lock()
	e.runtime = []*installed{mk("a", "vmgateway", "createPayment"), mk("b", ""), mk("c", "genstore", "getPayment", "getRefund"),
		mk("d", "", "createPayment", "pay.order"), mk("e", "vmgateway"), mk("f", "", "getRefund")}
	e.base = []*installed{mk("g", "", "createPayment"), mk("h", "codepay", "pay.order")}
	e.publish()
	e.mu.Unlock()
	rs := e.rules.Load()
	for _, sys := range []string{"vmgateway", "genstore", "codepay", "admin", ""} {
		for _, op := range []string{"createPayment", "getPayment", "getRefund", "pay.order", "inquirePayment", ""} {
			var want []string
			for _, in := range rs.apiFor(sys) {
				if len(in.rule.Match.Operations) == 0 || slices.Contains(in.rule.Match.Operations, op) {
					want = append(want, in.rule.ID)
				}
			}
			var got []string
			for _, in := range rs.apiForOp(sys, op) {
				got = append(got, in.rule.ID)
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s %s: %v, want %v", sys, op, got, want)
			}
		}
	}
}
