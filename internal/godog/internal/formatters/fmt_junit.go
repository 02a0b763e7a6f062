package formatters

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cucumber/godog/formatters"
	"github.com/pspsim/pspsim/internal/godog/internal/models"
	"github.com/pspsim/pspsim/internal/godog/internal/utils"
)

func init() {
	formatters.Format("junit", "Prints junit compatible xml to stdout", JUnitFormatterFunc)
}

// JUnitFormatterFunc implements the FormatterFunc for the junit formatter
func JUnitFormatterFunc(suite string, out io.Writer) formatters.Formatter {
	return &JUnit{Base: NewBase(suite, out)}
}

// JUnit renders test results in JUnit format.
type JUnit struct {
	*Base
}

// Summary renders summary information.
func (f *JUnit) Summary() {
	suite := f.buildJUNITPackageSuite()

	_, err := io.WriteString(f.out, xml.Header)
	if err != nil {
		fmt.Fprintln(os.Stderr, "failed to write junit string:", err)
	}

	enc := xml.NewEncoder(f.out)
	enc.Indent("", s(2))
	if err = enc.Encode(suite); err != nil {
		fmt.Fprintln(os.Stderr, "failed to write junit xml:", err)
	}
}

func junitTimeDuration(from, to time.Time) string {
	return strconv.FormatFloat(to.Sub(from).Seconds(), 'f', -1, 64)
}

// getPickleResult deals with the fact that if there's no result due to 'StopOnFirstFailure' being
// set, MustGetPickleResult panics.
func (f *JUnit) getPickleResult(pickleID string) (res *models.PickleResult) {
	defer func() {
		if r := recover(); r != nil {
			res = nil
		}
	}()
	pr := f.Storage.MustGetPickleResult(pickleID)
	res = &pr
	return
}

func (f *JUnit) getPickleStepResult(stepID string) (res *models.PickleStepResult) {
	defer func() {
		if r := recover(); r != nil {
			res = nil
		}
	}()
	psr := f.Storage.MustGetPickleStepResult(stepID)
	res = &psr
	return
}

func (f *JUnit) getPickleStepResultsByPickleID(pickleID string) (res []models.PickleStepResult) {
	defer func() {
		if r := recover(); r != nil {
			res = nil
		}
	}()
	res = f.Storage.MustGetPickleStepResultsByPickleID(pickleID)
	return
}

func (f *JUnit) buildJUNITPackageSuite() JunitPackageSuite {
	features := f.Storage.MustGetFeatures()
	sort.Sort(sortFeaturesByName(features))

	testRunStartedAt := f.Storage.MustGetTestRunStarted().StartedAt

	suite := JunitPackageSuite{
		Name:       f.suiteName,
		TestSuites: make([]*junitTestSuite, len(features)),
		Time:       junitTimeDuration(testRunStartedAt, utils.TimeNowFunc()),
	}

	for idx, feature := range features {
		pickles := f.Storage.MustGetPickles(feature.Uri)
		sort.Sort(sortPicklesByID(pickles))

		ts := junitTestSuite{
			Name:      feature.Feature.Name,
			TestCases: make([]*junitTestCase, len(pickles)),
		}

		var testcaseNames = make(map[string]int)
		for _, pickle := range pickles {
			testcaseNames[pickle.Name] = testcaseNames[pickle.Name] + 1
		}

		firstPickleStartedAt := testRunStartedAt
		lastPickleFinishedAt := testRunStartedAt

		var outlineNo = make(map[string]int)
		for idx, pickle := range pickles {
			tc := junitTestCase{}
			tc.Name = pickle.Name
			if testcaseNames[tc.Name] > 1 {
				outlineNo[tc.Name] = outlineNo[tc.Name] + 1
				tc.Name += fmt.Sprintf(" #%d", outlineNo[tc.Name])
			}

			pickleResult := f.getPickleResult(pickle.Id)
			if pickleResult == nil {
				tc.Status = skipped.String()
			} else {
				if idx == 0 {
					firstPickleStartedAt = pickleResult.StartedAt
				}
				lastPickleFinishedAt = pickleResult.StartedAt
			}

			if len(pickle.Steps) > 0 {
				lastStep := pickle.Steps[len(pickle.Steps)-1]
				if lastPickleStepResult := f.getPickleStepResult(lastStep.Id); lastPickleStepResult != nil {
					lastPickleFinishedAt = lastPickleStepResult.FinishedAt
				}
			}

			if pickleResult != nil {
				tc.Time = junitTimeDuration(pickleResult.StartedAt, lastPickleFinishedAt)
			}

			// pspsim: what CI reports need (see internal/godog/README.md).
			// The classname is the feature (a conformance theme); each
			// testcase has at most one of failure, error and skipped, and
			// the counts are of testcases; the failure's message is the
			// step and the first line of its error, its body the whole
			// error (a conformance verdict: code, docs/CONTRACT.md section,
			// what happened, evidence) and the steps skipped after it.
			tc.Classname = feature.Feature.Name
			ts.Tests++
			suite.Tests++

			var lines, skippedSteps []string
			pickleStepResults := f.getPickleStepResultsByPickleID(pickle.Id)
			for _, stepResult := range pickleStepResults {
				pickleStep := f.Storage.MustGetPickleStep(stepResult.PickleStepID)
				lines = append(lines, fmt.Sprintf("%-9s %s", stepResult.Status.String(), pickleStep.Text))

				switch stepResult.Status {
				case passed:
					if tc.Status == "" {
						tc.Status = passed.String()
					}
				case failed:
					tc.Status = failed.String()
					text := fmt.Sprint(stepResult.Err)
					first, _, _ := strings.Cut(text, "\n")
					tc.Failure = &junitFailure{
						Message: fmt.Sprintf("Step %s: %s", pickleStep.Text, first),
						Type:    "failed",
						Body:    fmt.Sprintf("Step %s\n%s\n", pickleStep.Text, text),
					}
				case ambiguous, undefined, pending:
					if tc.Status == failed.String() {
						break
					}
					tc.Status = stepResult.Status.String()
					msg := fmt.Sprintf("Step %s", pickleStep.Text)
					switch stepResult.Status {
					case pending:
						msg += ": TODO: write pending definition"
					case ambiguous:
						if stepResult.Err != nil {
							msg += ": " + stepResult.Err.Error()
						}
					}
					if len(tc.Error) == 0 {
						tc.Error = append(tc.Error, &junitError{Type: stepResult.Status.String(), Message: msg})
					}
				case skipped:
					skippedSteps = append(skippedSteps, pickleStep.Text)
				}
			}
			if (tc.Status == "" || tc.Status == passed.String()) && (pickleResult == nil || len(skippedSteps) > 0) {
				tc.Status = skipped.String()
			}
			switch tc.Status {
			case failed.String():
				if len(skippedSteps) > 0 {
					tc.Failure.Body += "\nskipped after the failure:\n  " + strings.Join(skippedSteps, "\n  ") + "\n"
				}
				ts.Failures++
				suite.Failures++
			case undefined.String(), pending.String(), ambiguous.String():
				ts.Errors++
				suite.Errors++
			case skipped.String():
				tc.Skipped = &junitSkipped{Message: fmt.Sprintf("%d steps skipped", len(skippedSteps))}
				ts.Skipped++
				suite.Skipped++
			}
			if len(lines) > 0 {
				tc.SystemOut = &junitCData{Text: strings.Join(lines, "\n") + "\n"}
			}

			ts.TestCases[idx] = &tc
		}

		ts.Time = junitTimeDuration(firstPickleStartedAt, lastPickleFinishedAt)

		suite.TestSuites[idx] = &ts
	}

	return suite
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Body    string `xml:",cdata"`
}

type junitCData struct {
	Text string `xml:",cdata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr,omitempty"`
}

type junitError struct {
	XMLName xml.Name `xml:"error,omitempty"`
	Message string   `xml:"message,attr"`
	Type    string   `xml:"type,attr"`
}

type junitTestCase struct {
	XMLName   xml.Name      `xml:"testcase"`
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Status    string        `xml:"status,attr"`
	Time      string        `xml:"time,attr"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Error     []*junitError
	SystemOut *junitCData `xml:"system-out,omitempty"`
}

type junitTestSuite struct {
	XMLName   xml.Name `xml:"testsuite"`
	Name      string   `xml:"name,attr"`
	Tests     int      `xml:"tests,attr"`
	Skipped   int      `xml:"skipped,attr"`
	Failures  int      `xml:"failures,attr"`
	Errors    int      `xml:"errors,attr"`
	Time      string   `xml:"time,attr"`
	TestCases []*junitTestCase
}

// JunitPackageSuite ...
type JunitPackageSuite struct {
	XMLName    xml.Name `xml:"testsuites"`
	Name       string   `xml:"name,attr"`
	Tests      int      `xml:"tests,attr"`
	Skipped    int      `xml:"skipped,attr"`
	Failures   int      `xml:"failures,attr"`
	Errors     int      `xml:"errors,attr"`
	Time       string   `xml:"time,attr"`
	TestSuites []*junitTestSuite
}
