package faults

import (
	"bytes"
	"net/http"
	"strings"
)

// decimal is a non-negative decimal number as text: integer digits without
// leading zeros ("0" for none) and fraction digits without trailing zeros.
// Amounts are compared as text, never as float64.
type decimal struct {
	ip, fp string
}

// parseDecimal reads "10.51", "0010.510", "7": digits, an optional point and
// digits. Signs and exponents are refused: they are not amounts.
func parseDecimal(s string) (decimal, bool) {
	ip, fp, hasPoint := strings.Cut(s, ".")
	if ip == "" || (hasPoint && fp == "") || len(s) > 40 {
		return decimal{}, false
	}
	for i := 0; i < len(ip); i++ {
		if ip[i] < '0' || ip[i] > '9' {
			return decimal{}, false
		}
	}
	for i := 0; i < len(fp); i++ {
		if fp[i] < '0' || fp[i] > '9' {
			return decimal{}, false
		}
	}
	ip = strings.TrimLeft(ip, "0")
	if ip == "" {
		ip = "0"
	}
	return decimal{ip: ip, fp: strings.TrimRight(fp, "0")}, true
}

func (a decimal) cmp(b decimal) int {
	if len(a.ip) != len(b.ip) {
		if len(a.ip) < len(b.ip) {
			return -1
		}
		return 1
	}
	if c := strings.Compare(a.ip, b.ip); c != 0 {
		return c
	}
	return strings.Compare(a.fp, b.fp) // trailing zeros trimmed: "5" < "51" as 0.5 < 0.51
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

// The well-known fields holding a card number; "number" counts only inside a
// card object (the gateway's card.number, Genstore's paymentMethod card).
var cardFields = []string{"cardNo", "card_no", "cardNumber", "card_number", "pan", "primaryAccountNumber"}
var cardParents = []string{"card", "cardInfo", "card_info", "creditCard"}

func fieldIndex(names []string, key []byte) int {
	for i, n := range names {
		if string(key) == n {
			return i
		}
	}
	return -1
}

// bodyAmount finds the amount in a JSON body: the most telling well-known
// field, the shallowest on a tie.
func bodyAmount(body []byte) (decimal, bool) {
	if !bytes.Contains(body, []byte("mount")) {
		return decimal{}, false // none of the names, skip the walk
	}
	best, bestDepth := len(amountFields), 1<<30
	var val []byte
	walkJSON(body, func(parent, key, v []byte, depth int) bool {
		i := fieldIndex(amountFields, key)
		if i < 0 && string(key) == "value" {
			if i = fieldIndex(amountFields, parent); i >= 0 {
				depth--
			}
		}
		if i >= 0 && (i < best || (i == best && depth < bestDepth)) {
			best, bestDepth, val = i, depth, v
		}
		return true
	})
	if val == nil {
		return decimal{}, false
	}
	return parseDecimal(string(val))
}

// bodyCard finds a card number in a JSON body.
func bodyCard(body []byte) (string, bool) {
	var found string
	walkJSON(body, func(parent, key, v []byte, _ int) bool {
		if fieldIndex(cardFields, key) < 0 && !(string(key) == "number" && fieldIndex(cardParents, parent) >= 0) {
			return true
		}
		d := make([]byte, 0, len(v))
		for _, c := range v {
			switch {
			case c >= '0' && c <= '9':
				d = append(d, c)
			case c == ' ' || c == '-':
			default:
				return true // not a plain number (encrypted, masked): keep looking
			}
		}
		if len(d) >= 12 && len(d) <= 19 {
			found = string(d)
			return false
		}
		return true
	})
	return found, found != ""
}

// facts are what rules match a call on, computed lazily: reading the body
// costs only when some candidate rule asks about amounts or cards.
type facts struct {
	system, operation, method, path string
	attempt                         int // deliveries; 0 for served requests
	header                          http.Header
	body                            []byte
	tags                            func() map[string]string

	tagsDone, amountDone, cardDone bool
	tagMap                         map[string]string
	amount                         decimal
	hasAmount                      bool
	card                           string
}

func (f *facts) tag(name string) string {
	if !f.tagsDone {
		f.tagsDone = true
		if f.tags != nil {
			f.tagMap = f.tags()
		}
	}
	return f.tagMap[name]
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
	for k, v := range m.Tags {
		if f.tag(k) != v {
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
