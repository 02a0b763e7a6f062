// Package ecies seals and opens the card data Genstore sends to payment apps
// (CONTRACT.md §5): suit `ECIESv1|AES-128-GCM|P-256`.
//
//   - ECDH on P-256 between a fresh ephemeral key and the app's long-term key;
//     Z is the 32-byte x-coordinate of the shared point.
//   - key = HKDF-SHA256(IKM = Z, salt = UTF-8 of the package's salt
//     "ECIESv1-HKDF-SALT", info, L = 16).
//   - AES-128-GCM with a 12-byte iv; the 16-byte tag is appended to the
//     ciphertext; the AAD binds the suit, the ephemeral key's SPKI DER and the iv.
//
// Genstore publishes the scheme but neither the HKDF `info` nor the byte
// layout of the AAD, so both are Settings: the defaults are the contract's
// choices (empty info; AAD = suit ‖ SPKI DER ‖ iv), and a user who learns
// Genstore's real values switches with a setting, not a code change.
//
// Errors say which field is wrong and why, never the plaintext or key
// material. The package holds no state: the recipient's key and the settings
// are arguments.
package ecies

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/hkdf"
)

// Suite is the only cipher suite the contract defines.
const Suite = "ECIESv1|AES-128-GCM|P-256"

// DefaultSalt is the HKDF salt Genstore sends in every package.
const DefaultSalt = "ECIESv1-HKDF-SALT"

// Sizes fixed by the suite.
const (
	KeySize = 16 // AES-128
	IVSize  = 12 // GCM nonce
	TagSize = 16 // GCM tag, appended to the ciphertext
)

// AADLayout names how the additional authenticated data is laid out.
type AADLayout string

const (
	// AADConcat is UTF-8(suit) ‖ SPKI DER of the ephemeral key ‖ iv, with no
	// separators or lengths: the contract's choice, and what the vectors use.
	AADConcat AADLayout = "concat"
	// AADLengthPrefixed puts each of the three parts after its length as a
	// 2-byte big-endian integer, for an implementation that frames them.
	AADLengthPrefixed AADLayout = "length-prefixed"
	// AADNone binds nothing (plain AES-GCM), for an implementation that turns
	// out not to use AAD at all.
	AADNone AADLayout = "none"
)

// Layouts lists the AAD layouts a setting may name.
var Layouts = []AADLayout{AADConcat, AADLengthPrefixed, AADNone}

// Settings are the parts of the scheme Genstore does not publish. The zero
// value means the defaults of CONTRACT.md §5.
type Settings struct {
	// Info is the HKDF info; empty by default.
	Info []byte `json:"info,omitempty" yaml:"info"`
	// AAD is the AAD layout; AADConcat when empty.
	AAD AADLayout `json:"aad,omitempty" yaml:"aad"`
	// Salt is the salt a package must carry (and that is used as HKDF salt);
	// DefaultSalt when empty. A package with another salt is refused before
	// any key is derived, with an error that says so.
	Salt string `json:"salt,omitempty" yaml:"salt"`
}

func (s Settings) salt() string {
	if s.Salt == "" {
		return DefaultSalt
	}
	return s.Salt
}

// Validate reports a setting that names no known layout.
func (s Settings) Validate() error {
	switch s.AAD {
	case "", AADConcat, AADLengthPrefixed, AADNone:
		return nil
	}
	return fmt.Errorf("ecies: aad layout %q is not one of %v", s.AAD, Layouts)
}

// aad builds the additional authenticated data under the layout.
func (s Settings) aad(suit string, ephemeralSPKI, iv []byte) ([]byte, error) {
	switch s.AAD {
	case "", AADConcat:
		out := make([]byte, 0, len(suit)+len(ephemeralSPKI)+len(iv))
		out = append(out, suit...)
		out = append(out, ephemeralSPKI...)
		return append(out, iv...), nil
	case AADLengthPrefixed:
		var out []byte
		for _, part := range [][]byte{[]byte(suit), ephemeralSPKI, iv} {
			if len(part) > 0xffff {
				return nil, errors.New("ecies: an AAD part is longer than 65535 bytes")
			}
			out = binary.BigEndian.AppendUint16(out, uint16(len(part)))
			out = append(out, part...)
		}
		return out, nil
	case AADNone:
		return nil, nil
	}
	return nil, s.Validate()
}

// Package is paymentMethod.data of the Payment Object: the sealed card and
// what the recipient needs to open it. The field order is the seed's.
type Package struct {
	CipherText         string `json:"cipherText"`
	Salt               string `json:"salt"`
	EphemeralPublicKey string `json:"ephemeralPublicKey"`
	Suit               string `json:"suit"`
	ReturnURL          string `json:"returnUrl"`
	IV                 string `json:"iv"`
}

// Kind classifies why a package was refused.
type Kind string

// The reasons a package is refused, one per thing an app must check.
const (
	KindSuite          Kind = "suite"           // suit is not ECIESv1|AES-128-GCM|P-256
	KindSalt           Kind = "salt"            // salt is not the expected one
	KindEphemeralKey   Kind = "ephemeral_key"   // not base64 SPKI DER of a P-256 point
	KindIV             Kind = "iv"              // not base64 of 12 bytes
	KindCipherText     Kind = "cipher_text"     // not base64, or shorter than the tag
	KindAuthentication Kind = "authentication"  // the GCM tag does not verify
	KindRecipientKey   Kind = "recipient_key"   // the recipient's key is unusable
	KindPlaintext      Kind = "plaintext"       // the opened plaintext is not the card JSON
	KindSettings       Kind = "settings"        // the settings name an unknown layout
	KindRandom         Kind = "random"          // no randomness for a fresh key or iv
	KindEncoding       Kind = "public_key_spki" // a key could not be encoded
)

// Error explains why sealing or opening failed. Field is the package field
// at fault (dotted as in the Payment Object: "paymentMethod.data.iv"); the
// message never contains plaintext or key material.
type Error struct {
	Kind   Kind
	Field  string
	Reason string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return "ecies: " + e.Reason
	}
	return "ecies: " + e.Field + ": " + e.Reason
}

// Is lets errors.Is match on the kind: errors.Is(err, &Error{Kind: KindIV}).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind
}

func fail(kind Kind, field, format string, args ...any) *Error {
	return &Error{Kind: kind, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Field names inside paymentMethod.data, for errors.
const (
	FieldCipherText   = "cipherText"
	FieldSalt         = "salt"
	FieldEphemeralKey = "ephemeralPublicKey"
	FieldSuit         = "suit"
	FieldIV           = "iv"
)

// GenerateKey draws a P-256 key pair (an app's long-term key, or an
// ephemeral key).
func GenerateKey(rand io.Reader) (*ecdh.PrivateKey, error) {
	k, err := ecdh.P256().GenerateKey(rand)
	if err != nil {
		return nil, fail(KindRandom, "", "generating a P-256 key: %v", err)
	}
	return k, nil
}

// MarshalPublicKey returns the X.509 SPKI DER of a P-256 public key, base64
// (the form apps register and packages carry).
func MarshalPublicKey(pub *ecdh.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fail(KindEncoding, "", "encoding the public key as SPKI DER: %v", err)
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

// ParsePublicKey reads a P-256 public key from base64 X.509 SPKI DER. It
// refuses a raw point, another curve and another algorithm.
func ParsePublicKey(b64 string) (*ecdh.PublicKey, error) {
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fail(KindEphemeralKey, "", "is not valid base64")
	}
	return parseSPKI(der)
}

func parseSPKI(der []byte) (*ecdh.PublicKey, error) {
	key, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fail(KindEphemeralKey, "", "is not an X.509 SubjectPublicKeyInfo (DER)")
	}
	var pub *ecdh.PublicKey
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, fail(KindEphemeralKey, "", "is an EC key on %s, not P-256", k.Curve.Params().Name)
		}
		if pub, err = k.ECDH(); err != nil {
			return nil, fail(KindEphemeralKey, "", "is not a valid P-256 point")
		}
	case *ecdh.PublicKey:
		pub = k
	default:
		return nil, fail(KindEphemeralKey, "", "is a %T, not a P-256 EC public key", key)
	}
	if pub.Curve() != ecdh.P256() {
		return nil, fail(KindEphemeralKey, "", "is not on P-256")
	}
	return pub, nil
}

// ParsePrivateKey reads a P-256 private key from PKCS#8 DER, given raw or
// base64 (the form of ecies-vectors.json).
func ParsePrivateKey(der []byte) (*ecdh.PrivateKey, error) {
	if b, err := base64.StdEncoding.DecodeString(string(der)); err == nil {
		der = b
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fail(KindRecipientKey, "", "is not a PKCS#8 private key")
	}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, fail(KindRecipientKey, "", "is not a P-256 key")
		}
		out, err := k.ECDH()
		if err != nil {
			return nil, fail(KindRecipientKey, "", "is not a valid P-256 key")
		}
		return out, nil
	case *ecdh.PrivateKey:
		if k.Curve() != ecdh.P256() {
			return nil, fail(KindRecipientKey, "", "is not a P-256 key")
		}
		return k, nil
	}
	return nil, fail(KindRecipientKey, "", "is a %T, not a P-256 EC private key", key)
}

// MarshalPrivateKey returns the PKCS#8 DER of a private key, base64.
func MarshalPrivateKey(k *ecdh.PrivateKey) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return "", fail(KindEncoding, "", "encoding the private key as PKCS#8: %v", err)
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

// deriveKey is HKDF-SHA256(Z, salt, info) → 16 bytes.
func deriveKey(z []byte, salt string, info []byte) ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := io.ReadFull(hkdf.New(sha256.New, z, []byte(salt), info), key); err != nil {
		return nil, fail(KindRecipientKey, "", "deriving the key: %v", err)
	}
	return key, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fail(KindRecipientKey, "", "AES key: %v", err)
	}
	return cipher.NewGCM(block)
}

// Seal encrypts plaintext to the recipient's long-term key with a fresh
// ephemeral key and iv drawn from rand. returnURL is carried in the package
// unencrypted, as the Payment Object does.
func Seal(rand io.Reader, recipient *ecdh.PublicKey, plaintext []byte, returnURL string, s Settings) (Package, error) {
	eph, err := GenerateKey(rand)
	if err != nil {
		return Package{}, err
	}
	iv := make([]byte, IVSize)
	if _, err := io.ReadFull(rand, iv); err != nil {
		return Package{}, fail(KindRandom, FieldIV, "drawing the iv: %v", err)
	}
	return SealWith(eph, iv, recipient, plaintext, returnURL, s)
}

// SealWith is Seal with the ephemeral key and iv given: for reproducing test
// vectors only. Reusing an ephemeral key or iv across messages breaks GCM.
func SealWith(ephemeral *ecdh.PrivateKey, iv []byte, recipient *ecdh.PublicKey, plaintext []byte, returnURL string, s Settings) (Package, error) {
	if err := s.Validate(); err != nil {
		return Package{}, fail(KindSettings, "", "%v", err)
	}
	if recipient == nil || recipient.Curve() != ecdh.P256() {
		return Package{}, fail(KindRecipientKey, "", "the recipient's key must be a P-256 public key")
	}
	if ephemeral == nil || ephemeral.Curve() != ecdh.P256() {
		return Package{}, fail(KindEphemeralKey, FieldEphemeralKey, "the ephemeral key must be a P-256 private key")
	}
	if len(iv) != IVSize {
		return Package{}, fail(KindIV, FieldIV, "must be %d bytes, not %d", IVSize, len(iv))
	}
	z, err := ephemeral.ECDH(recipient)
	if err != nil {
		return Package{}, fail(KindRecipientKey, "", "ECDH with the recipient's key failed")
	}
	spki, err := x509.MarshalPKIXPublicKey(ephemeral.PublicKey())
	if err != nil {
		return Package{}, fail(KindEncoding, FieldEphemeralKey, "encoding as SPKI DER: %v", err)
	}
	key, err := deriveKey(z, s.salt(), s.Info)
	if err != nil {
		return Package{}, err
	}
	gcm, err := newGCM(key)
	if err != nil {
		return Package{}, err
	}
	aad, err := s.aad(Suite, spki, iv)
	if err != nil {
		return Package{}, fail(KindSettings, "", "%v", err)
	}
	return Package{
		CipherText:         base64.StdEncoding.EncodeToString(gcm.Seal(nil, iv, plaintext, aad)),
		Salt:               s.salt(),
		EphemeralPublicKey: base64.StdEncoding.EncodeToString(spki),
		Suit:               Suite,
		ReturnURL:          returnURL,
		IV:                 base64.StdEncoding.EncodeToString(iv),
	}, nil
}

// Open checks a package field by field — suit, salt, ephemeral key, iv,
// ciphertext — and decrypts it with the recipient's private key. Every
// refusal is an *Error naming the field; a package that parses but does not
// authenticate (tampered, swapped iv or key, sealed to another recipient,
// other settings) is KindAuthentication.
func Open(recipient *ecdh.PrivateKey, p Package, s Settings) ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, fail(KindSettings, "", "%v", err)
	}
	if recipient == nil || recipient.Curve() != ecdh.P256() {
		return nil, fail(KindRecipientKey, "", "the recipient's key must be a P-256 private key")
	}
	if p.Suit != Suite {
		return nil, fail(KindSuite, FieldSuit, "%s is not supported (only %s)", quote(p.Suit), Suite)
	}
	if p.Salt != s.salt() {
		return nil, fail(KindSalt, FieldSalt, "must be %s", s.salt())
	}
	spki, err := base64.StdEncoding.DecodeString(p.EphemeralPublicKey)
	if err != nil || len(spki) == 0 {
		return nil, fail(KindEphemeralKey, FieldEphemeralKey, "is not valid base64")
	}
	eph, err := parseSPKI(spki)
	if err != nil {
		e := err.(*Error)
		e.Field = FieldEphemeralKey
		return nil, e
	}
	iv, err := base64.StdEncoding.DecodeString(p.IV)
	if err != nil {
		return nil, fail(KindIV, FieldIV, "is not valid base64")
	}
	if len(iv) != IVSize {
		return nil, fail(KindIV, FieldIV, "must be %d bytes, not %d", IVSize, len(iv))
	}
	ct, err := base64.StdEncoding.DecodeString(p.CipherText)
	if err != nil {
		return nil, fail(KindCipherText, FieldCipherText, "is not valid base64")
	}
	if len(ct) < TagSize {
		return nil, fail(KindCipherText, FieldCipherText, "is %d bytes, shorter than the %d-byte tag", len(ct), TagSize)
	}
	z, err := recipient.ECDH(eph)
	if err != nil {
		return nil, fail(KindEphemeralKey, FieldEphemeralKey, "ECDH failed")
	}
	key, err := deriveKey(z, p.Salt, s.Info)
	if err != nil {
		return nil, err
	}
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	aad, err := s.aad(p.Suit, spki, iv)
	if err != nil {
		return nil, fail(KindSettings, "", "%v", err)
	}
	plain, err := gcm.Open(nil, iv, ct, aad)
	if err != nil {
		return nil, fail(KindAuthentication, FieldCipherText, "does not authenticate (tampered, iv or ephemeral key swapped, sealed to another key, or other HKDF/AAD settings)")
	}
	return plain, nil
}

// quote shows an untrusted short value in an error, clipped so an error
// never carries a large or binary input.
func quote(s string) string {
	const max = 40
	if len(s) > max {
		s = s[:max] + "…"
	}
	return fmt.Sprintf("%q", s)
}
