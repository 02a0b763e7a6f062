package paymentapp

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Money on the wire is a decimal string in the currency's ISO-4217 exponent ("123.23" USD,
// "15000" JPY). Inside the app it is an int64 count of minor units: never a float, which
// cannot hold 0.1 exactly.

// currencyExponents lists the ISO-4217 currencies whose exponent is not 2.
var currencyExponents = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
	"PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	"CLF": 4, "UYW": 4,
}

var (
	currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)
	amountPattern   = regexp.MustCompile(`^(0|[1-9][0-9]*)(\.([0-9]+))?$`)
)

// exponent returns the number of decimals of an ISO-4217 currency code.
func exponent(currency string) (int, error) {
	if !currencyPattern.MatchString(currency) {
		return 0, fmt.Errorf("currency %q is not an ISO-4217 code", currency)
	}
	if e, ok := currencyExponents[currency]; ok {
		return e, nil
	}
	return 2, nil
}

// parseAmount reads a decimal string into minor units of the currency. More decimals than
// the currency has is an error, never rounded; fewer are padded ("1.5" USD is 150).
func parseAmount(s, currency string) (int64, error) {
	exp, err := exponent(currency)
	if err != nil {
		return 0, err
	}
	m := amountPattern.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("amount %q is not a decimal number", s)
	}
	whole, frac := m[1], m[3]
	if len(frac) > exp {
		return 0, fmt.Errorf("amount %q has more decimals than %s allows (%d)", s, currency, exp)
	}
	digits := whole + frac + strings.Repeat("0", exp-len(frac))
	if len(digits) > 15 {
		return 0, errors.New("amount is too large")
	}
	return strconv.ParseInt(digits, 10, 64)
}

// formatAmount writes minor units as a decimal string with the currency's exponent.
func formatAmount(minor int64, currency string) string {
	exp, err := exponent(currency)
	if err != nil {
		exp = 2
	}
	s := strconv.FormatInt(minor, 10)
	if exp == 0 {
		return s
	}
	if len(s) <= exp {
		s = strings.Repeat("0", exp-len(s)+1) + s
	}
	return s[:len(s)-exp] + "." + s[len(s)-exp:]
}
