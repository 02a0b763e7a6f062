package vmgateway

import (
	"strconv"
	"strings"
	"time"

	"github.com/pspsim/pspsim/fixtures"
	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/pan"
	"github.com/pspsim/pspsim/simulator/threeds"
)

// Cards as the gateway checks and knows them. A card number arrives with
// createPayment, createTokenPayment or the cashier's form, is checked here,
// and lives only for the request: a payment keeps its brand, masked number
// and a keyed fingerprint, never the number.

// checkCard validates a card number and expiry fields; prefix is the path of
// the object that holds them ("card", or "" for a token payment's top level).
func (s *System) checkCard(prefix, number, month, year string) *apierr.Error {
	f := func(n string) string {
		if prefix == "" {
			return n
		}
		return prefix + "." + n
	}
	// UnionPay numbers (62…) need not pass the Luhn check; every other
	// brand's must. 3-D Secure applies the same rule (threeds.CardNumberValid).
	if !threeds.CardNumberValid(number) {
		return apierr.Field(apierr.Invalid, f("cardNo"), "luhn", "is not a valid card number (Luhn check)")
	}
	y, err := strconv.Atoi(year)
	if err != nil || y > s.now().Year()+20 {
		return apierr.Field(apierr.Invalid, f("expiryYear"), "range", "must be a year within 20 years")
	}
	if m, err := strconv.Atoi(month); err != nil || m < 1 || m > 12 {
		return apierr.Field(apierr.Invalid, f("expiryMonth"), "range", "must be 01 to 12")
	}
	return nil
}

// expired reports whether a card's expiry month has passed.
func expired(month, year string, now time.Time) bool {
	m, _ := strconv.Atoi(month)
	y, _ := strconv.Atoi(year)
	// A card is valid through the last day of its expiry month.
	return !now.Before(time.Date(y, time.Month(m)+1, 1, 0, 0, 0, 0, time.UTC))
}

// fingerprint identifies a card without keeping its number.
func (s *System) fingerprint(number string) string {
	return s.cardKey.Hex("", number, 16)
}

// checkExternal checks external 3-D Secure data for consistency with itself
// and the card's brand (THREEDS_DATA_INVALID, naming the field).
func checkExternal(d *threeDSDataIn, brand string) *apierr.Error {
	bad := func(field, format string, args ...any) *apierr.Error {
		return apierr.Field(apierr.Unprocessable, "threeDsData."+field, "consistency", format, args...).WithCode(CodeThreeDSDataInvalid)
	}
	if d.AuthenticationResultCode == "" {
		return bad("authenticationResultCode", "is required")
	}
	if d.Eci == "" {
		return bad("eci", "is required")
	}
	status := d.AuthenticationResultCode
	if (status == "Y" || status == "A") && d.Cavv == "" {
		return bad("cavv", "is required when authenticationResultCode is Y or A")
	}
	v1 := strings.HasPrefix(d.DsVersion, "1.")
	if v1 && d.Xid == "" {
		return bad("xid", "is required for 3-D Secure 1")
	}
	if !v1 && d.DsTransID == "" {
		return bad("dsTransId", "is required for 3-D Secure 2")
	}
	if d.DsVersion != "" && !v1 && !strings.HasPrefix(d.DsVersion, "2.") {
		return bad("dsVersion", "must be 1.x or 2.x")
	}
	if brand == "visa" || brand == "mastercard" {
		want := threeds.ECI(brand, status)
		if d.Eci != want {
			return bad("eci", "a %s authentication with result %s carries ECI %s", cardBrand(brand), status, want)
		}
		if d.Cavv != "" && !threeds.ValidAuthenticationValueShape(d.Cavv) {
			return bad("cavv", "must be 20 bytes, base64 (28 characters) or hex (40)")
		}
	}
	return nil
}

// cardBrand maps fixtures.Brand's names to the spec's CardBrand.
func cardBrand(b string) string {
	// Constants, not strings.ToUpper: every stored payment keeps its brand,
	// and these share one copy.
	switch b {
	case "visa":
		return "VISA"
	case "mastercard":
		return "MASTERCARD"
	case "unionpay":
		return "UNIONPAY"
	case "amex":
		return "AMEX"
	case "jcb":
		return "JCB"
	case "discover":
		return "DISCOVER"
	}
	return "OTHER"
}

// brandOf returns fixtures' brand name of a card number.
func brandOf(number string) string { return fixtures.Brand(number) }

func maskPAN(number string) string { return pan.Mask(number) }
