package threeds

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// cavvKey is the simulated issuers' key for authentication values. It is
// published on purpose (like the sandbox keys in fixtures/keys): the values
// are derived, not random, so that a replay of a dsTransID yields the same
// CAVV and a test can recompute one.
const cavvKey = "pspsim-acs-cavv-key-v1"

// AuthenticationValue returns the CAVV (Visa) or AAV (Mastercard) of an
// authentication: 20 bytes, base64, HMAC-SHA256 of the dsTransID under the
// simulated issuers' key, truncated. Deterministic from the dsTransID alone.
func AuthenticationValue(dsTransID string) string {
	m := hmac.New(sha256.New, []byte(cavvKey))
	m.Write([]byte("cavv|" + dsTransID))
	return base64.StdEncoding.EncodeToString(m.Sum(nil)[:20])
}

// ECI returns the electronic commerce indicator an authorization carries for
// a brand ("visa", "mastercard", ...) and a final transStatus. Mastercard
// uses 02/01/00; Visa and the other brands 05/06/07. Anything but Y and A
// (N, R, U, not enrolled, not requested) is the non-authenticated value.
func ECI(brand, transStatus string) string {
	mc := brand == "mastercard"
	switch transStatus {
	case "Y":
		if mc {
			return "02"
		}
		return "05"
	case "A":
		if mc {
			return "01"
		}
		return "06"
	}
	if mc {
		return "00"
	}
	return "07"
}

// LiabilityShift reports whether a final transStatus moves fraud liability to
// the issuer: a full (Y) or attempted (A) authentication does.
func LiabilityShift(transStatus string) bool { return transStatus == "Y" || transStatus == "A" }

// ValidAuthenticationValueShape reports whether s looks like a CAVV/AAV: 20
// bytes, as base64 (28 characters) or hex (40 characters).
func ValidAuthenticationValueShape(s string) bool {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == 20 {
		return true
	}
	if b, err := hex.DecodeString(strings.ToLower(s)); err == nil && len(b) == 20 {
		return true
	}
	return false
}

// fingerprint identifies a card without keeping its number: HMAC-SHA256
// under a key of the simulator run (s.key), the first 16 bytes in hex.
func (s *Service) fingerprint(pan string) string { return s.key.Hex("", pan, 16) }

// cavvKeyOf is "cavv/" and AuthenticationValue(dsTransID), the unique key
// an authentication is found by its value with, made in one string under
// the service's kept HMAC state (mac.Keyed): the same value, without
// deriving the key's pads anew. The value is its tail (cavvKeyOf(id)[len(
// "cavv/"):]), so that the transaction and its key share one copy of it.
func (s *Service) cavvKeyOf(dsTransID string) string {
	return s.cavv.LabelledBase64("cavv/", "cavv|", dsTransID, 20)
}
