// Package conformance is the conformance suite: the Gherkin scenarios of
// features/conformance drive a real payment app through the Genstore contract
// (docs/CONTRACT.md §8) and judge it from both ends, Genstore's records of what the
// app sent and the PSP's own records of what it charged. A broken rule fails
// its step with a Verdict: a stable code (codes.go), what happened, the
// evidence and the contract's section.
//
// `pspsim conformance --app app.yaml` is Run: a pspsim in process on a
// loopback port with a simulated clock (Sandbox), or a running one
// (--target); the app started as app.yaml says (AppConfig); one Harness per
// run; and, per scenario, a fresh world with its own shop and its own window
// of the journal. Scenarios run one after the other, because they share the
// app and the simulator's clock.
//
// The app charges cards with one of the PSPs pspsim emulates (app.yaml
// psp.system): a step says "the PSP" and asks the app's PSP through its view
// (pspview.go), which tells the card gateway's and CodePay's records in the
// same words; a scenario tagged @vmgateway or @codepay is about that PSP's
// own behaviour and runs only for its apps.
//
// The steps talk to the simulator over HTTP only, as the scenario package's
// do, and the suite reuses that package's Faults, Clock and Journal groups. A
// step is found from its text the same way in every group: Groups() lists the
// groups, one steps_*.go file each, and each step's Func calls the world's
// method that judges (world.go reads Genstore's view, harness.go the journal
// and the PSP's records, pspcalls.go every call the app made to the PSP,
// direct.go the app's own answers). Before the clock moves, owed.go waits for
// what the app owes, so that the order a correct app works in never matters;
// after the steps, finally.go judges what every scenario is judged by.
// docs/CONFORMANCE.md is generated from the codes, the feature files and the
// steps (docgen.go).
package conformance
