package faults_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pspsim/pspsim/simulator/faults"
	"github.com/pspsim/pspsim/simulator/openapi"
)

type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkWrapNoRuleMatches measures what the fault middleware adds to a
// request that no rule fires on (target: under 1 µs). "bare" is the handler
// alone; the others are the same handler behind the engine.
func BenchmarkWrapNoRuleMatches(b *testing.B) {
	body := `{"orderNo":"202308161615130001","amount":"199.68","currency":"USD","card":{"cardNo":"4000123456000019","cvc":"123"},"description":"buy a apple","deviceInfo":{"clientIp":"10.1.1.1"}}`
	req := httptest.NewRequest("POST", "/vm/v1/payments", strings.NewReader(body))
	oreq := &openapi.Request{System: "vmgateway", OperationID: "createPayment", Key: "createPayment", Body: []byte(body)}
	oreq.Tag(openapi.TagMerchant, "M086666075137")
	req = req.WithContext(openapi.WithRequest(req.Context(), oreq))
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	w := &discard{h: http.Header{}}

	magic, err := faults.MagicRules()
	if err != nil {
		b.Fatal(err)
	}
	var others []faults.Rule
	for i := 0; i < 20; i++ {
		others = append(others, faults.Rule{ID: fmt.Sprintf("r%d", i), Action: "reset",
			Match: faults.Match{System: "vmgateway", Operations: []string{fmt.Sprintf("op%d", i)}}})
	}
	var merchants []faults.Rule
	for i := 0; i < 20; i++ {
		merchants = append(merchants, faults.Rule{ID: fmt.Sprintf("m%d", i), Action: "reset",
			Match: faults.Match{Tags: map[string]string{openapi.TagMerchant: fmt.Sprintf("M%d", i)}}})
	}
	cases := []struct {
		name  string
		rules []faults.Rule
	}{
		{"no rules", nil},
		{"rules for another system", []faults.Rule{{ID: "g", Action: "reset", Match: faults.Match{System: "genstore"}}}},
		{"magic amounts, amount not magic", magic},
		{"20 rules, other operations", others},
		{"20 rules, other merchants", merchants},
	}
	b.Run("bare", func(b *testing.B) {
		for b.Loop() {
			next.ServeHTTP(w, req)
		}
	})
	for _, c := range cases {
		eng := faults.New(faults.Options{})
		if err := eng.SetBase(c.rules); err != nil {
			b.Fatal(err)
		}
		h := eng.Wrap("vmgateway")(next)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, req)
			}
		})
	}
}
