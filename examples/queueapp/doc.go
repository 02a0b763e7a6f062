// Package queueapp is a second Genstore payment app, written only from docs/CONTRACT.md,
// docs/TESTCARDS.md and the specs, and deliberately unlike the reference app
// (examples/paymentapp), so that the conformance suite is proven on two designs of one
// contract, not on one implementation:
//
//   - Payments are charged while Genstore waits (well inside its 10 s). When the card
//     gateway fails — a 5xx, no answer — and an inquiry finds no payment, the app answers
//     Genstore 503 and keeps nothing: Genstore retries on its schedule, and the app tries
//     the gateway again then (docs/CONTRACT.md §2.5). A payment whose gateway keeps failing
//     fails at Genstore when the retries run out, uncharged.
//   - Captures, voids and refunds are acknowledged first (an empty channel id) and carried
//     out by a pool of workers from a job queue; a job the gateway cannot take now is put
//     back on the queue with a delay.
//   - The app subscribes to no webhooks: it learns every late outcome — a challenge, a
//     decoupled authentication, a refund's settlement, a lost answer — by asking the
//     gateway (polling jobs), and reports a refund only once the gateway settled it.
//   - Results leave through one outbox: a dispatcher sends due callbacks and puts back the
//     ones Genstore did not take (5xx, no answer) with a growing delay.
//   - The query endpoints answer from the app's own state (PROCESSING until final).
//
// It imports nothing from pspsim. Files: app.go (configuration, state, the job queue),
// genstore.go (signatures, installation, the outbox), payment.go (payments, 3-D Secure
// return, polling), operations.go (captures, voids, refunds, queries), gateway.go (the
// card gateway client), ecies.go (card data).
package queueapp
