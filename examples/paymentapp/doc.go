// Package paymentapp is a reference Genstore payment app: a small, correct payment app
// written only against the Genstore ↔ payment app contract (docs/CONTRACT.md) and
// the published specs (specs/genstore.yaml, specs/genstore-app.yaml, specs/vmgateway.yaml,
// specs/codepay.yaml). It charges cards with the Visa/Mastercard card gateway or, with
// Config.PSP "codepay", through CodePay's merchant-hosted checkout.
//
// It is meant to be read. Each file covers one part of the contract:
//
//	signature.go   §2  the query hmac, the timestamp window and the body hmac of Genstore's requests
//	onboarding.go  §1  installation: OAuth code exchange, then account_authorize
//	payment.go     §2  the payment request: decrypt, charge with 3-D Secure, acknowledge
//	operations.go  §2  capture, void and refund
//	results.go     §3  final results: immutable, reported once, by the right callback
//	genstore.go    §1 §3  the Genstore client: code exchange, callbacks and their retries
//	ecies.go       §5  the card-data decryption
//	psp.go         what the app needs from its PSP, in the card gateway's words
//	gateway.go     the Visa/Mastercard card gateway client (specs/vmgateway.yaml)
//	codepay.go     the CodePay client (specs/codepay.yaml) and its signed notifications
//	webhooks.go    the gateway's signed webhooks
//	reconcile.go   asking the gateway again when an answer is late or missing
//	query.go       §2  the two reconciliation queries
//	flight.go      one operation per id, however many deliveries
//	store.go       the app's state, behind a small interface
//	money.go       decimal strings to integer minor units, and back
//	bugs.go        deliberate mistakes, switched on to prove the conformance suite catches them
//
// The app imports nothing from pspsim: it is what a third-party author would write.
package paymentapp
