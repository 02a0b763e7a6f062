package faults

import (
	"bytes"
	"net/http"

	"github.com/pspsim/pspsim/simulator/openapi"
)

// decimal is a non-negative decimal number as text: integer digits without
// leading zeros ("0" for none) and fraction digits without trailing zeros.
// Amounts are compared as text, never as float64. The slices point into
// the text parsed (a request body is not changed while it is served), so
// reading an amount allocates nothing.
type decimal struct {
	ip, fp []byte
}

var zero = []byte("0")

// parseDecimal reads "10.51", "0010.510", "7": digits, an optional point and
// digits. Signs and exponents are refused: they are not amounts.
func parseDecimal(s string) (decimal, bool) { return parseDecimalBytes([]byte(s)) }

func parseDecimalBytes(s []byte) (decimal, bool) {
	ip, fp, hasPoint := bytes.Cut(s, []byte("."))
	if len(ip) == 0 || (hasPoint && len(fp) == 0) || len(s) > 40 {
		return decimal{}, false
	}
	for _, c := range ip {
		if c < '0' || c > '9' {
			return decimal{}, false
		}
	}
	for _, c := range fp {
		if c < '0' || c > '9' {
			return decimal{}, false
		}
	}
	ip = bytes.TrimLeft(ip, "0")
	if len(ip) == 0 {
		ip = zero
	}
	return decimal{ip: ip, fp: bytes.TrimRight(fp, "0")}, true
}

func (a decimal) cmp(b decimal) int {
	if len(a.ip) != len(b.ip) {
		if len(a.ip) < len(b.ip) {
			return -1
		}
		return 1
	}
	if c := bytes.Compare(a.ip, b.ip); c != 0 {
		return c
	}
	return bytes.Compare(a.fp, b.fp) // trailing zeros trimmed: "5" < "51" as 0.5 < 0.51
}

// cents returns the hundredths of an amount with at most two decimals.
func (a decimal) cents() (int, bool) {
	switch len(a.fp) {
	case 0:
		return 0, true
	case 1:
		return int(a.fp[0]-'0') * 10, true
	case 2:
		return int(a.fp[0]-'0')*10 + int(a.fp[1]-'0'), true
	}
	return 0, false
}

func (m *AmountMatch) matches(d decimal) bool {
	if m.equals != nil && d.cmp(*m.equals) != 0 {
		return false
	}
	if m.min != nil && d.cmp(*m.min) < 0 {
		return false
	}
	if m.max != nil && d.cmp(*m.max) > 0 {
		return false
	}
	if m.Cents >= 0 {
		c, ok := d.cents()
		if !ok || c != m.Cents {
			return false
		}
	}
	return true
}

// The well-known fields holding an amount in the three systems' bodies, most
// telling first: the gateway's amount/captureAmount/refundAmount, CodePay's
// order_amount/trans_amount, Genstore's amount. A field named value inside
// one of them (an {value, currency} object) counts as that field.
var amountFields = []string{"amount", "order_amount", "trans_amount", "captureAmount", "refundAmount", "refund_amount",
	"orderAmount", "transAmount", "total_amount", "totalAmount", "paid_amount"}

// amountRank and cardField index the names above for the body walk (built
// once at package initialisation and only read afterwards).
var amountRank, cardField, cardParent = index(amountFields), index(cardFields), index(cardParents)

func index(names []string) map[string]int {
	m := make(map[string]int, len(names))
	for i, n := range names {
		m[n] = i
	}
	return m
}

// The well-known fields holding a card number; "number" counts only inside a
// card object (the gateway's card.number, Genstore's paymentMethod card).
var cardFields = []string{"cardNo", "card_no", "cardNumber", "card_number", "pan", "primaryAccountNumber"}
var cardParents = []string{"card", "cardInfo", "card_info", "creditCard"}

func rank(m map[string]int, key []byte) int {
	if i, ok := m[string(key)]; ok { // no allocation: the compiler looks up without converting
		return i
	}
	return -1
}

// bodyAmount finds the amount in a JSON body: the most telling well-known
// field, the shallowest on a tie.
func bodyAmount(body []byte) (decimal, bool) {
	if !bytes.Contains(body, []byte("mount")) {
		return decimal{}, false // none of the names, skip the walk
	}
	w := jwalk{b: body, mode: walkAmount, best: len(amountFields), bestDepth: 1 << 30}
	w.value(nil, nil, 0)
	if w.found == nil {
		return decimal{}, false
	}
	return parseDecimalBytes(w.found)
}

// bodyCard finds a card number in a JSON body.
func bodyCard(body []byte) (string, bool) {
	w := jwalk{b: body, mode: walkCard}
	w.value(nil, nil, 0)
	return w.card, w.card != ""
}

// facts are what rules match a call on, computed lazily: reading the body
// costs only when some candidate rule asks about amounts or cards.
type facts struct {
	system, operation, method, path string
	attempt                         int // deliveries; 0 for served requests
	header                          http.Header
	body                            []byte
	req                             *openapi.Request  // served requests: tags come from here
	dtags                           map[string]string // deliveries: their tags

	amountDone, cardDone bool
	amount               decimal

	tagsRead  uint8 // which of TagNames were read into tagVals
	tagVals   [8]string
	hasAmount bool
	card      string
}

func (f *facts) tag(name string) string {
	if f.req == nil {
		return f.dtags[name]
	}
	slot := -1
	for i, n := range TagNames {
		if n == name {
			slot = i
			break
		}
	}
	if slot < 0 {
		return f.req.TagValue(name)
	}
	if f.tagsRead&(1<<slot) == 0 { // read each tag once per request, however many rules ask
		f.tagsRead |= 1 << slot
		f.tagVals[slot] = f.req.TagValue(name)
	}
	return f.tagVals[slot]
}

func (f *facts) getAmount() (decimal, bool) {
	if !f.amountDone {
		f.amountDone = true
		f.amount, f.hasAmount = bodyAmount(f.body)
	}
	return f.amount, f.hasAmount
}

func (f *facts) getCard() string {
	if !f.cardDone {
		f.cardDone = true
		f.card, _ = bodyCard(f.body)
	}
	return f.card
}

// matches checks everything but the system (the engine indexes rules by
// system) and nth (which needs the rule's count).
func (m *Match) matches(f *facts) bool {
	if len(m.Operations) > 0 {
		found := false
		for _, op := range m.Operations {
			if op == f.operation {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if m.Method != "" && m.Method != f.method {
		return false
	}
	if m.Path != "" && m.Path != f.path {
		if ok, _ := pathMatch(m.Path, f.path); !ok {
			return false
		}
	}
	if m.Attempt > 0 && m.Attempt != f.attempt {
		return false
	}
	if h := m.Header; h != nil {
		vals := f.header.Values(h.Name)
		if len(vals) == 0 {
			return false
		}
		if h.Value != "" {
			found := false
			for _, v := range vals {
				found = found || v == h.Value
			}
			if !found {
				return false
			}
		}
	}
	for _, t := range m.tagList {
		if f.tag(t.name) != t.value {
			return false
		}
	}
	if m.Amount != nil {
		d, ok := f.getAmount()
		if !ok || !m.Amount.matches(d) {
			return false
		}
	}
	if m.Card != "" && f.getCard() != m.Card {
		return false
	}
	return true
}
