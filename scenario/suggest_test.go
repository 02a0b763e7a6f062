package scenario

import (
	"strings"
	"testing"

	"github.com/pspsim/pspsim/internal/godog"
)

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

// TestAnUndefinedStepFailsWithSuggestions runs a feature with a typo: the
// scenario fails, and the output names the step that was meant.
func TestAnUndefinedStepFailsWithSuggestions(t *testing.T) {
	var out strings.Builder
	suite := godog.TestSuite{
		ScenarioInitializer: Initializer(InProcess(nil)),
		Options: &godog.Options{Format: "progress", Output: &out, Strict: true, NoColors: true,
			FeatureContents: []godog.Feature{{Name: "typo.feature", Contents: []byte("Feature: typo\n  Scenario: typo\n    Given a reciever \"app\"\n")}}},
	}
	if suite.Run() == 0 {
		t.Fatal("a scenario with an undefined step passed")
	}
	if !strings.Contains(out.String(), `did you mean:`) || !strings.Contains(out.String(), `Given a receiver "app"`) {
		t.Errorf("the failure does not suggest the step meant:\n%s", out.String())
	}
}
