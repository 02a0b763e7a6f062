// Package money holds amounts as int64 minor units of their currency and
// converts them to and from the decimal text the vendors put on the wire
// ("123.23" USD, "15000" JPY, or a JSON number's literal text for CodePay).
//
// Parsing is strict on purpose: a payment app that sends 10.005 USD has a bug,
// and a simulator that rounds it away hides the bug. So Parse rejects more
// decimals than the currency has, signs, exponent notation, NaN, leading zeros
// and anything that overflows int64 — each with an error naming the rule.
package money

import (
	"fmt"
	"strconv"
	"strings"
)

// Rule names the check a ParseError failed, so each API dialect can report it.
type Rule string

const (
	RuleFormat   Rule = "format"   // not a plain decimal number
	RuleNegative Rule = "negative" // a sign, or a negative amount
	RuleDecimals Rule = "decimals" // more decimals than the currency allows
	RuleOverflow Rule = "overflow" // does not fit int64 minor units
	RuleCurrency Rule = "currency" // unknown ISO-4217 code
	RulePositive Rule = "positive" // zero where a positive amount is required
)

// ParseError explains why an amount was refused. It never includes the amount
// text beyond what is needed to fix it.
type ParseError struct {
	Rule     Rule
	Currency string
	Message  string
}

func (e *ParseError) Error() string { return e.Message }

// Exponent returns the number of minor-unit digits of an ISO-4217 currency
// ("USD" → 2, "JPY" → 0, "KWD" → 3).
func Exponent(currency string) (int, bool) {
	e, ok := exponents[currency]
	return e, ok
}

// Parse converts decimal text in the currency's exponent to minor units.
// Zero is accepted; use ParsePositive where an amount must be above zero.
func Parse(text, currency string) (int64, error) {
	exp, ok := Exponent(currency)
	if !ok {
		return 0, &ParseError{Rule: RuleCurrency, Currency: currency, Message: fmt.Sprintf("unknown currency %q (ISO-4217 code expected)", currency)}
	}
	if text == "" {
		return 0, &ParseError{Rule: RuleFormat, Currency: currency, Message: "amount is empty"}
	}
	if text[0] == '-' || text[0] == '+' {
		return 0, &ParseError{Rule: RuleNegative, Currency: currency, Message: "amount must not carry a sign"}
	}
	intPart, fracPart, hasDot := strings.Cut(text, ".")
	if intPart == "" || !digits(intPart) || (hasDot && (fracPart == "" || !digits(fracPart))) {
		return 0, &ParseError{Rule: RuleFormat, Currency: currency, Message: "amount must be a plain decimal like 12.34 (no exponent, no spaces, no thousands separators)"}
	}
	if len(intPart) > 1 && intPart[0] == '0' {
		return 0, &ParseError{Rule: RuleFormat, Currency: currency, Message: "amount must not have leading zeros"}
	}
	if len(fracPart) > exp {
		return 0, &ParseError{Rule: RuleDecimals, Currency: currency, Message: fmt.Sprintf("amount has %d decimal places; %s allows %d", len(fracPart), currency, exp)}
	}
	whole, err := strconv.ParseInt(intPart+fracPart+strings.Repeat("0", exp-len(fracPart)), 10, 64)
	if err != nil {
		return 0, &ParseError{Rule: RuleOverflow, Currency: currency, Message: "amount is too large"}
	}
	return whole, nil
}

// ParsePositive is Parse for amounts that must be above zero.
func ParsePositive(text, currency string) (int64, error) {
	v, err := Parse(text, currency)
	if err != nil {
		return 0, err
	}
	if v == 0 {
		return 0, &ParseError{Rule: RulePositive, Currency: currency, Message: "amount must be greater than zero"}
	}
	return v, nil
}

// Format renders minor units as decimal text in the currency's exponent:
// Format(12323, "USD") == "123.23", Format(15000, "JPY") == "15000".
// An unknown currency is formatted with two decimals.
func Format(minor int64, currency string) string {
	exp, ok := Exponent(currency)
	if !ok {
		exp = 2
	}
	// Written in a buffer of the stack: the string is the one allocation
	// (the digits, their padding and the point made three).
	var buf [48]byte
	return string(appendMinor(buf[:0], minor, exp))
}

// AppendFormat appends Format(minor, currency) to b.
func AppendFormat(b []byte, minor int64, currency string) []byte {
	exp, ok := Exponent(currency)
	if !ok {
		exp = 2
	}
	return appendMinor(b, minor, exp)
}

// appendMinor appends minor units as a decimal with exp fraction digits.
func appendMinor(b []byte, minor int64, exp int) []byte {
	u := uint64(minor)
	if minor < 0 {
		b = append(b, '-')
		u = uint64(-minor)
	}
	var dbuf [20]byte
	d := strconv.AppendUint(dbuf[:0], u, 10)
	if exp <= 0 {
		return append(b, d...)
	}
	if len(d) <= exp {
		// Less than one unit: "0.", the fraction's leading zeros, d.
		b = append(b, '0', '.')
		for range exp - len(d) {
			b = append(b, '0')
		}
		return append(b, d...)
	}
	b = append(b, d[:len(d)-exp]...)
	b = append(b, '.')
	return append(b, d[len(d)-exp:]...)
}

// Amount is a value with its currency, for code that carries both together.
type Amount struct {
	Minor    int64  `json:"minor"`
	Currency string `json:"currency"`
}

// String renders the amount as "123.23 USD".
func (a Amount) String() string { return Format(a.Minor, a.Currency) + " " + a.Currency }

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
