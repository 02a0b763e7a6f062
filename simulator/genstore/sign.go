package genstore

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Request signing (CONTRACT.md §2, Genstore's published scheme): every
// request to an app carries shop, shopId, timestamp and hmac in its query;
// hmac is the lower-case hex HMAC-SHA256, keyed with the app's clientSecret,
// of every other query parameter sorted by name and joined as k=v&k=v with
// the values as they are (decoded, not re-encoded). These functions are
// exported so that test apps and the conformance suite verify with the very
// code that signs.

// SignedString returns what hmac covers: every parameter but hmac, sorted by
// name (a repeated name keeps its values' order), as k=v joined by &.
func SignedString(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		if k != "hmac" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, v := range q[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(k)
			b.WriteByte('=')
			b.WriteString(v)
		}
	}
	return b.String()
}

// QueryHMAC returns the hex HMAC-SHA256 of SignedString(q) keyed with secret.
func QueryHMAC(secret string, q url.Values) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(SignedString(q)))
	return hex.EncodeToString(m.Sum(nil))
}

// VerifyQuery checks q's hmac (in constant time) and that its timestamp is
// within tolerance of now, as an app must (CONTRACT.md §2: 300 s).
func VerifyQuery(secret string, q url.Values, now time.Time, tolerance time.Duration) error {
	got, err := hex.DecodeString(q.Get("hmac"))
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("hmac: missing or not 64 hex digits")
	}
	want, _ := hex.DecodeString(QueryHMAC(secret, q))
	if !hmac.Equal(got, want) {
		return fmt.Errorf("hmac: does not verify")
	}
	ts, err := strconv.ParseInt(q.Get("timestamp"), 10, 64)
	if err != nil {
		return fmt.Errorf("timestamp: missing or not unix seconds")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("timestamp: %s off the clock (more than %s)", d.Round(time.Second), tolerance)
	}
	return nil
}

// BodyHMAC returns the base64 HMAC-SHA256 of a raw body keyed with secret,
// the value of X-Genstore-Hmac-Sha256 (our extension).
func BodyHMAC(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// VerifyBody checks X-Genstore-Hmac-Sha256 in constant time.
func VerifyBody(secret string, body []byte, header string) bool {
	got, err := base64.StdEncoding.DecodeString(header)
	if err != nil {
		return false
	}
	want, _ := base64.StdEncoding.DecodeString(BodyHMAC(secret, body))
	return hmac.Equal(got, want)
}

// signURL adds the signing parameters (and extra ones, such as paymentId of
// a query) to an app's registered URL, keeping the query it already has:
// those parameters are signed too, since the app sees them in its query.
func signURL(raw, secret string, shop Shop, at time.Time, extra ...string) (string, error) {
	return SignURL(raw, secret, shop.Handle, shop.ShopID, at, extra...)
}

// SignURL signs an app's URL as Genstore does (CONTRACT.md §2: shop, shopId,
// timestamp and extra parameters, then hmac over the sorted query), at a
// chosen time. The conformance suite uses it to send its own requests with a
// stale, future or otherwise chosen signature.
func SignURL(raw, secret, shopHandle, shopID string, at time.Time, extra ...string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("app URL %q: %w", raw, err)
	}
	q := u.Query()
	q.Set("shop", shopHandle)
	q.Set("shopId", shopID)
	q.Set("timestamp", strconv.FormatInt(at.Unix(), 10))
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	q.Del("hmac")
	q.Set("hmac", QueryHMAC(secret, q))
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// tamperURL returns the URL with its hmac changed in its last digit, so that
// it no longer verifies (the fault engine's "tamper the signature").
func tamperURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	h := q.Get("hmac")
	if h == "" {
		q.Set("hmac", strings.Repeat("0", 64))
	} else {
		last := h[len(h)-1]
		repl := byte('0')
		if last == '0' {
			repl = '1'
		}
		q.Set("hmac", h[:len(h)-1]+string(repl))
	}
	u.RawQuery = q.Encode()
	return u.String()
}
