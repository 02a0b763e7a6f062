package paymentapp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/hkdf"
)

// Card data arrives encrypted to the app's long-term P-256 key (CONTRACT.md §5):
//
//	Z   = x-coordinate of ECDH(app key, ephemeral key)
//	key = HKDF-SHA256(IKM = Z, salt = UTF-8(salt), info = empty, L = 16)
//	AAD = UTF-8(suit) ‖ SPKI DER of the ephemeral key ‖ iv
//	cipherText = AES-128-GCM(key, iv, plaintext, AAD) ‖ 16-byte tag
//
// The AAD is what stops a package from being replayed under another suit, with another
// iv or another ephemeral key: change any of them and the tag fails. So the app builds the
// AAD from the fields it received, never from the values it expects.

const (
	eciesSuit = "ECIESv1|AES-128-GCM|P-256"
	eciesSalt = "ECIESv1-HKDF-SALT"
)

// cardPackage is paymentMethod.data of the Payment Object (seed 000).
type cardPackage struct {
	CipherText         string `json:"cipherText"`
	Salt               string `json:"salt"`
	EphemeralPublicKey string `json:"ephemeralPublicKey"`
	Suit               string `json:"suit"`
	IV                 string `json:"iv"`
	ReturnURL          string `json:"returnUrl"`
}

// errUndecryptable is wrapped by every refusal of openCard. Its messages name what is
// wrong with the package, never a key, a shared secret or a byte of plaintext.
var errUndecryptable = errors.New("card data cannot be decrypted")

// openCard decrypts and parses a card package. With assumeConstants false (the correct
// app) the package's suit and salt must be the ones of the contract, and they are used as
// sent.
//
// assumeConstants true is BugSkipAAD: the suit and salt are not read from the package at all;
// the app plugs in the constants it expects. The code looks harmless — "they are always
// the same anyway" — but the AAD then binds the suit the app expected, not the one that
// was sent, and a package with a downgraded suit or another salt is accepted.
func openCard(priv *ecdh.PrivateKey, pkg cardPackage, assumeConstants bool) (card, error) {
	suit, salt := pkg.Suit, pkg.Salt
	if assumeConstants {
		suit, salt = eciesSuit, eciesSalt
	}
	if suit != eciesSuit {
		return card{}, fmt.Errorf("%w: unknown suit", errUndecryptable)
	}
	if salt != eciesSalt {
		return card{}, fmt.Errorf("%w: unexpected salt", errUndecryptable)
	}

	spki, err := base64.StdEncoding.DecodeString(pkg.EphemeralPublicKey)
	if err != nil {
		return card{}, fmt.Errorf("%w: ephemeralPublicKey is not base64", errUndecryptable)
	}
	ephemeral, err := parseP256PublicKey(spki)
	if err != nil {
		return card{}, fmt.Errorf("%w: ephemeralPublicKey is not a P-256 SPKI key", errUndecryptable)
	}
	iv, err := base64.StdEncoding.DecodeString(pkg.IV)
	if err != nil || len(iv) != 12 {
		return card{}, fmt.Errorf("%w: iv is not 12 bytes of base64", errUndecryptable)
	}
	sealed, err := base64.StdEncoding.DecodeString(pkg.CipherText)
	if err != nil || len(sealed) < 16 {
		return card{}, fmt.Errorf("%w: cipherText is not base64 with a tag", errUndecryptable)
	}

	z, err := priv.ECDH(ephemeral) // for NIST curves: the 32-byte x-coordinate
	if err != nil {
		return card{}, fmt.Errorf("%w: key agreement failed", errUndecryptable)
	}
	key := make([]byte, 16)
	if _, err := io.ReadFull(hkdf.New(sha256.New, z, []byte(salt), nil), key); err != nil {
		return card{}, fmt.Errorf("%w: key derivation failed", errUndecryptable)
	}
	clear(z)

	block, err := aes.NewCipher(key)
	clear(key)
	if err != nil {
		return card{}, fmt.Errorf("%w: %v", errUndecryptable, err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return card{}, fmt.Errorf("%w: %v", errUndecryptable, err)
	}
	aad := make([]byte, 0, len(suit)+len(spki)+len(iv))
	aad = append(append(append(aad, suit...), spki...), iv...)
	plaintext, err := gcm.Open(nil, iv, sealed, aad)
	if err != nil {
		return card{}, fmt.Errorf("%w: authentication tag does not verify", errUndecryptable)
	}
	defer clear(plaintext)

	var c card
	if err := json.Unmarshal(plaintext, &c); err != nil {
		return card{}, fmt.Errorf("%w: plaintext is not the card JSON", errUndecryptable)
	}
	if err := c.validate(); err != nil {
		return card{}, fmt.Errorf("%w: %v", errUndecryptable, err)
	}
	return c, nil
}

// parseP256PublicKey reads an X.509 SPKI DER public key and insists on P-256.
func parseP256PublicKey(spki []byte) (*ecdh.PublicKey, error) {
	pub, err := x509.ParsePKIXPublicKey(spki)
	if err != nil {
		return nil, err
	}
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		ek, err := k.ECDH()
		if err != nil {
			return nil, err
		}
		if ek.Curve() != ecdh.P256() {
			return nil, errors.New("not a P-256 key")
		}
		return ek, nil
	case *ecdh.PublicKey:
		if k.Curve() != ecdh.P256() {
			return nil, errors.New("not a P-256 key")
		}
		return k, nil
	}
	return nil, fmt.Errorf("unsupported key type %T", pub)
}

// parseECIESPrivateKey reads the app's P-256 private key: PKCS#8 (or SEC 1) DER, as PEM or
// as base64. Errors never quote the key.
func parseECIESPrivateKey(s string) (*ecdh.PrivateKey, error) {
	s = strings.TrimSpace(s)
	var der []byte
	if block, _ := pem.Decode([]byte(s)); block != nil {
		der = block.Bytes
	} else {
		var err error
		der, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
		if err != nil {
			return nil, errors.New("ECIES private key is neither PEM nor base64")
		}
	}
	var key any
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		sec1, err2 := x509.ParseECPrivateKey(der)
		if err2 != nil {
			return nil, errors.New("ECIES private key is not PKCS#8 or SEC 1 DER")
		}
		key = sec1
	}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		ek, err := k.ECDH()
		if err != nil || ek.Curve() != ecdh.P256() {
			return nil, errors.New("ECIES private key is not a P-256 key")
		}
		return ek, nil
	case *ecdh.PrivateKey:
		if k.Curve() != ecdh.P256() {
			return nil, errors.New("ECIES private key is not a P-256 key")
		}
		return k, nil
	}
	return nil, fmt.Errorf("ECIES private key has unsupported type %T", key)
}

// publicKeySPKI returns the base64 SPKI DER of the key's public half: what the app
// registers with Genstore as its eciesPublicKey.
func publicKeySPKI(priv *ecdh.PrivateKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(priv.PublicKey())
	if err != nil {
		return "", fmt.Errorf("marshal ECIES public key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

// card is the decrypted plaintext (CONTRACT.md §5). It formats, logs and marshals as the
// masked number only, so that a stray %v, slog attribute or json.Marshal cannot leak it.
type card struct {
	Number      string `json:"number"`
	ExpiryMonth string `json:"expiryMonth"`
	ExpiryYear  string `json:"expiryYear"`
	CVV         string `json:"cvv"`
	HolderName  string `json:"holderName"`
}

var (
	panPattern = regexp.MustCompile(`^[0-9]{12,19}$`)
	cvvPattern = regexp.MustCompile(`^[0-9]{3,4}$`)
)

func (c card) validate() error {
	switch {
	case !panPattern.MatchString(c.Number):
		return errors.New("card number is not 12 to 19 digits")
	case c.CVV != "" && !cvvPattern.MatchString(c.CVV):
		return errors.New("cvv is not 3 or 4 digits")
	case c.ExpiryMonth == "" || c.ExpiryYear == "":
		return errors.New("expiry is missing")
	}
	return nil
}

func (c card) String() string               { return "card " + maskPAN(c.Number) }
func (c card) GoString() string             { return c.String() }
func (c card) LogValue() slog.Value         { return slog.StringValue(maskPAN(c.Number)) }
func (c card) MarshalJSON() ([]byte, error) { return json.Marshal(maskPAN(c.Number)) }

// maskPAN keeps the first six and last four digits: 4000123456000019 → 400012******0019.
func maskPAN(pan string) string {
	if len(pan) < 13 {
		return strings.Repeat("*", len(pan))
	}
	return pan[:6] + strings.Repeat("*", len(pan)-10) + pan[len(pan)-4:]
}

// expiry returns the card's expiry as the gateway wants it: a two-digit month and a
// four-digit year.
func (c card) expiry() (month, year string) {
	month, year = c.ExpiryMonth, c.ExpiryYear
	if len(month) == 1 {
		month = "0" + month
	}
	if len(year) == 2 {
		year = "20" + year
	}
	return month, year
}

// holderNames splits the holder's name into the gateway's firstName and lastName.
func (c card) holderNames() (first, last string) {
	name := strings.Join(strings.Fields(c.HolderName), " ")
	if i := strings.LastIndexByte(name, ' '); i > 0 {
		return truncate(name[:i], 64), truncate(name[i+1:], 64)
	}
	return truncate(name, 64), ""
}

// truncate shortens s to at most n bytes without splitting a UTF-8 character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
