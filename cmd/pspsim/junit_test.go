package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pspsim/pspsim/examples/paymentapp"
)

// TestConformanceJUnitOfAFailingRun parses the JUnit report of a run that
// fails (an app that ignores Genstore's hmac), as a CI server would: each
// testcase has the feature as classname; the failure has a message (the
// step and the verdict's code) and a body with the verdict's code, the
// docs/CONTRACT.md section, what happened and the evidence; counts agree.
func TestConformanceJUnitOfAFailingRun(t *testing.T) {
	target, appFile := inProcessApp(t, paymentapp.BugIgnoreHMAC)
	junit := filepath.Join(t.TempDir(), "conformance.xml")
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"conformance", "--app", appFile, "--target", target, "--tags", "@signature && ~@install",
		"--format", "progress,junit:" + junit}, &out, &errb, nil)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out.String(), errb.String())
	}
	raw, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("PSPSIM_SHOW_JUNIT") != "" {
		t.Logf("%s", raw)
	}
	var r struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Errors   int `xml:"errors,attr"`
		Skipped  int `xml:"skipped,attr"`
		Suites   []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Errors   int `xml:"errors,attr"`
			Skipped  int `xml:"skipped,attr"`
			Cases    []struct {
				Name      string `xml:"name,attr"`
				Classname string `xml:"classname,attr"`
				Failure   *struct {
					Message string `xml:"message,attr"`
					Body    string `xml:",chardata"`
				} `xml:"failure"`
				Errors  []struct{} `xml:"error"`
				Skipped *struct{}  `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(raw, &r); err != nil {
		t.Fatalf("the report does not parse: %v\n%s", err, raw)
	}
	var tests, failures, errs, skipped int
	var failed []string
	for _, s := range r.Suites {
		var st, sf, se, ss int
		for _, c := range s.Cases {
			st++
			if c.Classname == "" {
				t.Errorf("%s: no classname", c.Name)
			}
			if c.Failure != nil {
				sf++
				failed = append(failed, c.Name)
				if !strings.Contains(c.Failure.Message, "SIGNATURE_NOT_ENFORCED") {
					t.Errorf("%s: failure message %q does not name the verdict", c.Name, c.Failure.Message)
				}
				for _, want := range []*regexp.Regexp{
					regexp.MustCompile(`SIGNATURE_NOT_ENFORCED \(docs/CONTRACT\.md §2\.2\)`),
					regexp.MustCompile(`(?m)^  what happened: .+`),
					regexp.MustCompile(`(?m)^  evidence: .+`),
				} {
					if !want.MatchString(c.Failure.Body) {
						t.Errorf("%s: the failure body lacks %s:\n%s", c.Name, want, c.Failure.Body)
					}
				}
			}
			if len(c.Errors) > 0 {
				se++
			}
			if c.Skipped != nil {
				ss++
			}
		}
		if st != s.Tests || sf != s.Failures || se != s.Errors || ss != s.Skipped {
			t.Errorf("a suite counts %d/%d/%d/%d, its testcases %d/%d/%d/%d", s.Tests, s.Failures, s.Errors, s.Skipped, st, sf, se, ss)
		}
		tests, failures, errs, skipped = tests+st, failures+sf, errs+se, skipped+ss
	}
	if tests != r.Tests || failures != r.Failures || errs != r.Errors || skipped != r.Skipped {
		t.Errorf("the report counts %d/%d/%d/%d, its testcases %d/%d/%d/%d", r.Tests, r.Failures, r.Errors, r.Skipped, tests, failures, errs, skipped)
	}
	if failures == 0 || errs != 0 {
		t.Errorf("%d failures (%v) and %d errors; want failures and no errors\n%s", failures, failed, errs, raw)
	}
}
