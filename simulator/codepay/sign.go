package codepay

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// StringToSign builds the text CodePay signs, exactly as its official SDKs
// do: every top-level field of the JSON object except `sign` (compared
// case-insensitively), skipping null and empty-string values, keys sorted by
// byte order, joined as key=value with '&', without URL-encoding. Strings
// contribute their unquoted text, numbers and booleans their literal JSON text
// (144.30 stays "144.30"), nested objects and arrays their compact JSON.
func StringToSign(body []byte) (string, error) {
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&fields); err != nil {
		return "", fmt.Errorf("body is not a JSON object: %w", err)
	}
	if fields == nil {
		return "", errors.New("body is not a JSON object")
	}
	return stringToSign(fields)
}

// A Form is one canonical form of the string to sign. CodePay's published
// clients do not agree on it and the document does not settle it: the
// official SDK skips empty values and writes booleans as true/false (FormSDK,
// what pspsim signs its own answers with); other published clients keep
// empty values (`attach=`) or write booleans as 1 and empty. The gateway
// verifies a request signed in any of them (the one that matched is
// journaled, and a form other than the SDK's is warned about); --strict
// accepts the SDK's only.
type Form string

// The canonical forms of the string to sign.
const (
	// FormSDK: skip null and "" values; booleans true/false.
	FormSDK Form = "sdk"
	// FormKeepEmpty: "" values kept as `key=` (null still skipped);
	// booleans true/false.
	FormKeepEmpty Form = "keep-empty"
	// FormBoolDigit: skip null and "" values; true as 1, false as empty
	// (and so skipped).
	FormBoolDigit Form = "bool-digit"
	// FormKeepEmptyBoolDigit: "" values kept; true as 1, false as `key=`.
	FormKeepEmptyBoolDigit Form = "keep-empty-bool-digit"
)

// Forms lists every canonical form, the SDK's first.
var Forms = []Form{FormSDK, FormKeepEmpty, FormBoolDigit, FormKeepEmptyBoolDigit}

// ParseForm reads a form's name.
func ParseForm(name string) (Form, error) {
	for _, f := range Forms {
		if string(f) == name {
			return f, nil
		}
	}
	names := make([]string, len(Forms))
	for i, f := range Forms {
		names[i] = string(f)
	}
	return "", fmt.Errorf("unknown form %q (known: %s)", name, strings.Join(names, ", "))
}

// StringToSignForm builds the string to sign in form f (StringToSign is
// FormSDK).
func StringToSignForm(body []byte, f Form) (string, error) {
	fields, err := objectFields(body)
	if err != nil {
		return "", err
	}
	return canonical(fields, f)
}

// SignForm signs body's string to sign in form f.
func SignForm(key *rsa.PrivateKey, body []byte, f Form) (string, error) {
	s, err := StringToSignForm(body, f)
	if err != nil {
		return "", err
	}
	return SignString(key, s)
}

func objectFields(body []byte) (map[string]json.RawMessage, error) {
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&fields); err != nil {
		return nil, fmt.Errorf("body is not a JSON object: %w", err)
	}
	if fields == nil {
		return nil, errors.New("body is not a JSON object")
	}
	return fields, nil
}

func stringToSign(fields map[string]json.RawMessage) (string, error) {
	return canonical(fields, FormSDK)
}

func canonical(fields map[string]json.RawMessage, f Form) (string, error) {
	keepEmpty := f == FormKeepEmpty || f == FormKeepEmptyBoolDigit
	boolDigit := f == FormBoolDigit || f == FormKeepEmptyBoolDigit
	keys := make([]string, 0, len(fields))
	for k := range fields {
		if strings.EqualFold(k, "sign") {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v, skip, err := signValue(fields[k])
		if err != nil {
			return "", fmt.Errorf("field %s: %w", k, err)
		}
		if boolDigit {
			switch string(bytes.TrimSpace(fields[k])) {
			case "true":
				v = "1"
			case "false":
				v, skip = "", true
			}
		}
		if skip && !(keepEmpty && v == "" && string(bytes.TrimSpace(fields[k])) != "null") {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v)
	}
	return b.String(), nil
}

func signValue(raw json.RawMessage) (string, bool, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", true, nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false, err
		}
		return s, s == "", nil
	case '{', '[':
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return "", false, err
		}
		return buf.String(), false, nil
	default:
		return string(raw), false, nil
	}
}

// Sign signs body's string to sign with SHA256withRSA and returns base64.
func Sign(key *rsa.PrivateKey, body []byte) (string, error) {
	s, err := StringToSign(body)
	if err != nil {
		return "", err
	}
	return SignString(key, s)
}

// SignString signs a ready string to sign.
func SignString(key *rsa.PrivateKey, s string) (string, error) {
	sum := sha256.Sum256([]byte(s))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// ErrBadSignature is returned by Verify when the signature does not match.
var ErrBadSignature = errors.New("signature does not verify")

// Verify checks the `sign` field of body against its string to sign.
func Verify(pub *rsa.PublicKey, body []byte) error {
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&fields); err != nil || fields == nil {
		return errors.New("body is not a JSON object")
	}
	var sign string
	for k, v := range fields {
		if strings.EqualFold(k, "sign") {
			if err := json.Unmarshal(v, &sign); err != nil {
				return errors.New("sign is not a string")
			}
		}
	}
	if sign == "" {
		return errors.New("sign is missing")
	}
	s, err := stringToSign(fields)
	if err != nil {
		return err
	}
	return VerifyString(pub, s, sign)
}

// VerifyString checks a base64 SHA256withRSA signature of s.
func VerifyString(pub *rsa.PublicKey, s, sign string) error {
	sig, err := base64.StdEncoding.DecodeString(sign)
	if err != nil {
		return fmt.Errorf("sign is not base64: %w", ErrBadSignature)
	}
	sum := sha256.Sum256([]byte(s))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		return ErrBadSignature
	}
	return nil
}

// ParsePrivateKey reads an RSA private key in PEM (PKCS#8 or PKCS#1).
func ParsePrivateKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, errors.New("not an RSA key")
		}
		return rk, nil
	}
	k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse RSA private key: %w", err)
	}
	return k, nil
}

// publicKeyPEM renders a public key as SPKI PEM, the form the admin API
// publishes and stores.
func publicKeyPEM(pub *rsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("encode public key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// ParsePublicKey reads an RSA public key in PEM (SPKI or PKCS#1), or the bare
// base64 SPKI that CodePay's portal shows.
func ParsePublicKey(text []byte) (*rsa.PublicKey, error) {
	der := text
	if block, _ := pem.Decode(text); block != nil {
		der = block.Bytes
	} else if b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(text))); err == nil {
		der = b
	}
	if k, err := x509.ParsePKIXPublicKey(der); err == nil {
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, errors.New("not an RSA key")
		}
		return rk, nil
	}
	k, err := x509.ParsePKCS1PublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse RSA public key: %w", err)
	}
	return k, nil
}
