package queueapp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// Card data (docs/CONTRACT.md §5.1): ECIESv1|AES-128-GCM|P-256 with HKDF-SHA256 (salt
// ECIESv1-HKDF-SALT, empty info, 16 bytes) and AAD = suit ‖ ephemeral SPKI ‖ iv, built from
// the package's own fields.

const (
	suit = "ECIESv1|AES-128-GCM|P-256"
	salt = "ECIESv1-HKDF-SALT"
)

type cardPackage struct {
	CipherText         string `json:"cipherText"`
	Salt               string `json:"salt"`
	EphemeralPublicKey string `json:"ephemeralPublicKey"`
	Suit               string `json:"suit"`
	IV                 string `json:"iv"`
	ReturnURL          string `json:"returnUrl"`
}

// card is a decrypted card; it is passed to the gateway and dropped.
type card struct {
	Number      string `json:"number"`
	ExpiryMonth string `json:"expiryMonth"`
	ExpiryYear  string `json:"expiryYear"`
	CVV         string `json:"cvv"`
	HolderName  string `json:"holderName"`
}

func parsePrivateKey(b64 string) (*ecdh.PrivateKey, error) {
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	switch k := k.(type) {
	case *ecdh.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		return k.ECDH()
	}
	return nil, errors.New("not a P-256 key")
}

// open decrypts a package, or says what is wrong with it (never what it holds).
func open(key *ecdh.PrivateKey, p cardPackage) (card, error) {
	var c card
	if p.Suit != suit {
		return c, errors.New("suit: not " + suit)
	}
	if p.Salt != salt {
		return c, errors.New("salt: not the scheme's")
	}
	spki, err := base64.StdEncoding.DecodeString(p.EphemeralPublicKey)
	if err != nil {
		return c, errors.New("ephemeralPublicKey: not base64")
	}
	pub, err := x509.ParsePKIXPublicKey(spki)
	if err != nil {
		return c, errors.New("ephemeralPublicKey: not an X.509 SPKI key")
	}
	var eph *ecdh.PublicKey
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if eph, err = k.ECDH(); err != nil {
			return c, errors.New("ephemeralPublicKey: not a P-256 point")
		}
	case *ecdh.PublicKey:
		eph = k
	default:
		return c, errors.New("ephemeralPublicKey: not a P-256 key")
	}
	if eph.Curve() != ecdh.P256() {
		return c, errors.New("ephemeralPublicKey: not P-256")
	}
	iv, err := base64.StdEncoding.DecodeString(p.IV)
	if err != nil || len(iv) != 12 {
		return c, errors.New("iv: not 12 bytes")
	}
	ct, err := base64.StdEncoding.DecodeString(p.CipherText)
	if err != nil {
		return c, errors.New("cipherText: not base64")
	}
	z, err := key.ECDH(eph)
	if err != nil {
		return c, errors.New("ephemeralPublicKey: no shared secret")
	}
	k, err := hkdf.Key(sha256.New, z, []byte(salt), "", 16)
	if err != nil {
		return c, fmt.Errorf("hkdf: %w", err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return c, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return c, err
	}
	aad := append(append([]byte(p.Suit), spki...), iv...)
	plain, err := gcm.Open(nil, iv, ct, aad)
	if err != nil {
		return c, errors.New("cipherText: does not authenticate (wrong key, or changed in transit)")
	}
	defer clear(plain)
	if err := json.Unmarshal(plain, &c); err != nil || c.Number == "" {
		return card{}, errors.New("plaintext: not the card JSON")
	}
	return c, nil
}
