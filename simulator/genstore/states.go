package genstore

import "fmt"

// The state machines of CONTRACT.md §3, one table per object. A transition
// that is not in its table is refused: final states have no row, so a final
// status can never change.

// payEvent is what happens to a payment.
type payEvent string

const (
	evPaid       payEvent = "paid"       // payment/ "true" (manualCapture:false)
	evAuthorized payEvent = "authorized" // pre_authorize/ "true" (manualCapture:true)
	evFailed     payEvent = "failed"     // payment/ or pre_authorize/ "false", a final 4xx, no acknowledgement, expiry
	evCaptured   payEvent = "captured"   // capture/ "true"
	evVoided     payEvent = "voided"     // void/ "true"
)

// paymentTransitions is the payment's table. A capture or void that fails
// leaves the payment in 4 auth_success (no row needed: nothing changes).
var paymentTransitions = map[Status]map[payEvent]Status{
	StatusProcessing: {
		evPaid:       StatusSuccess,
		evAuthorized: StatusAuthSuccess,
		evFailed:     StatusFailure,
	},
	StatusAuthSuccess: {
		evCaptured: StatusSuccess,
		evVoided:   StatusAuthVoid,
	},
}

// transitionPayment returns the status after ev, or an error naming both.
func transitionPayment(from Status, ev payEvent) (Status, error) {
	if to, ok := paymentTransitions[from][ev]; ok {
		return to, nil
	}
	return from, fmt.Errorf("a payment in status %s (%s) cannot be %s", from.Code(), from, ev)
}

// operationTransitions is the table of captures, voids and refunds: a
// processing operation gets one final result; succeeded and failed are final.
var operationTransitions = map[OpStatus]map[bool]OpStatus{
	OpProcessing: {true: OpSucceeded, false: OpFailed},
}

func transitionOperation(from OpStatus, result bool) (OpStatus, error) {
	if to, ok := operationTransitions[from][result]; ok {
		return to, nil
	}
	return from, fmt.Errorf("an operation that %s cannot change", from)
}
