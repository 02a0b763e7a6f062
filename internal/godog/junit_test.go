package godog_test

import (
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pspsim/pspsim/internal/godog"
)

// report is the JUnit file as CI tools read it.
type report struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Errors   int `xml:"errors,attr"`
	Skipped  int `xml:"skipped,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Errors   int    `xml:"errors,attr"`
		Skipped  int    `xml:"skipped,attr"`
		Cases    []struct {
			Name      string `xml:"name,attr"`
			Classname string `xml:"classname,attr"`
			Status    string `xml:"status,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Body    string `xml:",chardata"`
			} `xml:"failure"`
			Errors []struct {
				Type    string `xml:"type,attr"`
				Message string `xml:"message,attr"`
			} `xml:"error"`
			Skipped *struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
			Out string `xml:"system-out"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

const junitFeature = `Feature: Refunds
  Scenario: passes
    Given a step that passes

  Scenario: fails
    Given a step that passes
    When a step that fails with a verdict
    Then a step that passes

  Scenario: is not written yet
    Given a step nobody defined

  Scenario: skips itself
    Given a step that passes
    And a step that skips
    Then a step that passes
`

// TestJUnitReport: the report CI tools read has a classname, a failure with
// a message and a body (the error's every line and the steps skipped after
// it), <skipped/> for a skipped scenario rather than errors, and counts of
// testcases that agree at every level.
func TestJUnitReport(t *testing.T) {
	file := filepath.Join(t.TempDir(), "junit.xml")
	status := godog.TestSuite{
		Name: "junit",
		ScenarioInitializer: func(sc *godog.ScenarioContext) {
			sc.Step(`^a step that passes$`, func() error { return nil })
			sc.Step(`^a step that fails with a verdict$`, func() error {
				return errors.New("REFUND_TWICE (docs/CONTRACT.md §2): one refund per id\n  what happened: two refunds\n  evidence: journal #12")
			})
			sc.Step(`^a step that skips$`, func() error { return godog.ErrSkip })
		},
		Options: &godog.Options{Format: "junit:" + file, FeatureContents: []godog.Feature{{Name: "refunds.feature", Contents: []byte(junitFeature)}}},
	}.Run()
	if status == 0 {
		t.Fatal("a failing suite exited 0")
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var r report
	if err := xml.Unmarshal(raw, &r); err != nil {
		t.Fatalf("the report does not parse: %v\n%s", err, raw)
	}
	if len(r.Suites) != 1 || len(r.Suites[0].Cases) != 4 {
		t.Fatalf("suites and cases:\n%s", raw)
	}
	s := r.Suites[0]
	if r.Tests != 4 || r.Failures != 1 || r.Errors != 1 || r.Skipped != 1 ||
		s.Tests != 4 || s.Failures != 1 || s.Errors != 1 || s.Skipped != 1 {
		t.Errorf("counts: total %d/%d/%d/%d, suite %d/%d/%d/%d; want 4 tests, 1 failure, 1 error, 1 skipped\n%s",
			r.Tests, r.Failures, r.Errors, r.Skipped, s.Tests, s.Failures, s.Errors, s.Skipped, raw)
	}
	var failures, errs, skipped int
	for _, c := range s.Cases {
		if c.Classname != "Refunds" {
			t.Errorf("%s: classname %q, want the feature", c.Name, c.Classname)
		}
		n := 0
		if c.Failure != nil {
			failures++
			n++
		}
		if len(c.Errors) > 0 {
			errs++
			n++
		}
		if c.Skipped != nil {
			skipped++
			n++
		}
		if n > 1 {
			t.Errorf("%s has more than one of failure, error, skipped", c.Name)
		}
		switch c.Name {
		case "fails":
			if c.Failure == nil {
				t.Fatalf("no failure:\n%s", raw)
			}
			if c.Failure.Message != "Step a step that fails with a verdict: REFUND_TWICE (docs/CONTRACT.md §2): one refund per id" {
				t.Errorf("failure message %q", c.Failure.Message)
			}
			for _, want := range []string{"what happened: two refunds", "evidence: journal #12", "skipped after the failure:\n  a step that passes"} {
				if !strings.Contains(c.Failure.Body, want) {
					t.Errorf("failure body lacks %q:\n%s", want, c.Failure.Body)
				}
			}
			if !strings.Contains(c.Out, "failed    a step that fails with a verdict") {
				t.Errorf("system-out: %q", c.Out)
			}
		case "is not written yet":
			if len(c.Errors) != 1 || c.Errors[0].Type != "undefined" {
				t.Errorf("undefined step: %+v", c.Errors)
			}
		case "skips itself":
			if c.Skipped == nil || c.Status != "skipped" {
				t.Errorf("a scenario that skipped: status %q, skipped %v", c.Status, c.Skipped)
			}
		}
	}
	if failures != r.Failures || errs != r.Errors || skipped != r.Skipped {
		t.Errorf("the counts (%d/%d/%d) do not agree with the testcases (%d/%d/%d)", r.Failures, r.Errors, r.Skipped, failures, errs, skipped)
	}
}
