package scenario

import "testing"

// TestSuggestNamesTheClosestStep: a misspelt or reworded step suggests the
// step that was meant first.
func TestSuggestNamesTheClosestStep(t *testing.T) {
	for _, c := range []struct{ typed, want string }{
		{`Given a reciever "app"`, `Given a receiver "app"`},
		{`Then the reciever "x" got 3 request`, `Then the receiver "app" got 2 requests`},
		{`When the clock advance by "5m"`, `When the clock advances by "48h"`},
		{`Then the page show "Paid"`, `Then the page shows "Payment CAPTURED"`},
		{`When the buyer pay on the cashier with card "4000123456000019"`, `When the buyer pays on the cashier with the card "4000123456000068"`},
	} {
		got := Suggest(c.typed, 3)
		if len(got) == 0 || got[0] != c.want {
			t.Errorf("Suggest(%q) = %q, want %q first", c.typed, got, c.want)
		}
	}
}
