package vmgateway

import "testing"

// TestTakeCreate: a createPayment's callInfo hands out the createRequest
// allocated with it once, zero; every other case gets a new one, never one
// already handed out.
func TestTakeCreate(t *testing.T) {
	create := newCallInfo("createPayment")
	for _, tc := range []struct {
		name     string
		info     *callInfo
		fromCall bool // the createRequest is the one allocated with info
	}{
		{"outside journaled", nil, false},
		{"another operation's", newCallInfo("inquirePayment"), false},
		{"a createPayment's", create, true},
		{"a createPayment's, taken already", create, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var own *createRequest
			if tc.info != nil && tc.info.create != nil {
				own = tc.info.create
			}
			got := tc.info.takeCreate()
			if got == nil {
				t.Fatal("no createRequest")
			}
			if (got == own) != tc.fromCall {
				t.Fatalf("got the callInfo's own createRequest: %v, want %v", got == own, tc.fromCall)
			}
			if got.in.OrderNo != "" || got.np.amount != 0 || got.card.Number != "" {
				t.Fatalf("createRequest not zero: %+v", got)
			}
			got.in.OrderNo = "used"
			if tc.info != nil && tc.info.create != nil {
				t.Fatal("the callInfo still holds a createRequest handed out")
			}
		})
	}
}
