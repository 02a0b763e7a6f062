package conformance_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pspsim/pspsim/conformance"
	"github.com/pspsim/pspsim/examples/paymentapp"
	"github.com/pspsim/pspsim/scenario"
	"github.com/pspsim/pspsim/simulator/ecies"
)

// contractSections returns the section numbers of docs/CONTRACT.md's
// headings ("1", "2.4", ...): what verdicts and scenarios may cite.
func contractSections(t *testing.T) map[string]bool {
	t.Helper()
	md, err := os.ReadFile("../docs/CONTRACT.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#{2,3} (\d+(?:\.\d+)?)\.? `).FindAllStringSubmatch(string(md), -1) {
		out[m[1]] = true
	}
	if len(out) < 20 {
		t.Fatalf("docs/CONTRACT.md has only %d numbered sections", len(out))
	}
	return out
}

// Every code is defined once, with a known theme, a rule, and a section of
// docs/CONTRACT.md that exists.
func TestCodesTable(t *testing.T) {
	sections := contractSections(t)
	seen := map[conformance.Code]bool{}
	for _, c := range conformance.Codes() {
		if seen[c.Code] {
			t.Errorf("%s is listed twice", c.Code)
		}
		seen[c.Code] = true
		if !regexp.MustCompile(`^[A-Z][A-Z0-9_]+$`).MatchString(string(c.Code)) {
			t.Errorf("%s is not an UPPER_SNAKE code", c.Code)
		}
		if !slices.Contains(conformance.Themes, c.Theme) || !strings.HasPrefix(c.Section, "§") || c.Rule == "" || c.Seen == "" {
			t.Errorf("%s: theme %q, section %q, rule %q, seen %q", c.Code, c.Theme, c.Section, c.Rule, c.Seen)
		}
		if !sections[strings.TrimPrefix(c.Section, "§")] {
			t.Errorf("%s cites docs/CONTRACT.md %s, which has no such section", c.Code, c.Section)
		}
	}
	// A verdict renders its code, section, rule and evidence.
	v := &conformance.Verdict{Code: conformance.IdempotencyDoubleCharge, Detail: "charged twice", Evidence: []string{"journal #7"}}
	for _, want := range []string{"IDEMPOTENCY_DOUBLE_CHARGE", "docs/CONTRACT.md §2.3", "one PSP call", "charged twice", "evidence: journal #7"} {
		if !strings.Contains(v.Error(), want) {
			t.Errorf("verdict text lacks %q:\n%s", want, v.Error())
		}
	}
}

// Every scenario carries a theme; every theme has scenarios; every bug's
// theme is a theme.
func TestScenariosAreTaggedByTheme(t *testing.T) {
	scs, err := conformance.Scenarios()
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	names := map[string]bool{}
	for _, s := range scs {
		themed := false
		for _, tag := range s.Tags {
			if slices.Contains(conformance.Themes, strings.TrimPrefix(tag, "@")) {
				themed = true
				count[strings.TrimPrefix(tag, "@")]++
			} else if !slices.Contains(conformance.PSPs, strings.TrimPrefix(tag, "@")) {
				t.Errorf("%s: %q has tag %s, which is no theme", s.Feature, s.Name, tag)
			}
		}
		if !themed {
			t.Errorf("%s: %q has no theme tag", s.Feature, s.Name)
		}
		if names[s.Name] {
			t.Errorf("two scenarios are named %q: reports could not tell them apart", s.Name)
		}
		names[s.Name] = true
	}
	for _, th := range conformance.Themes {
		if count[th] == 0 {
			t.Errorf("no scenario is tagged @%s", th)
		}
	}
	codes := map[string]bool{}
	for _, c := range conformance.Codes() {
		codes[string(c.Code)] = true
	}
	for _, b := range paymentapp.BugCatalog() {
		if b.Correct {
			if b.Theme != "" || b.Scenario != "" || b.Code != "" {
				t.Errorf("the correct variant %s names a theme, scenario or code", b.Bug)
			}
			continue
		}
		if !slices.Contains(conformance.Themes, b.Theme) {
			t.Errorf("bug %s names theme %q, which is no theme of the suite", b.Bug, b.Theme)
		}
		if !names[b.Scenario] {
			t.Errorf("bug %s names scenario %q, which the suite does not have", b.Bug, b.Scenario)
		}
		if !codes[b.Code] {
			t.Errorf("bug %s names verdict code %q, which the suite does not have", b.Bug, b.Code)
		}
	}
}

// Every scenario says which sections of docs/CONTRACT.md require exactly what
// it demands ("Requires docs/CONTRACT.md §2.3, §2.4"), and they exist.
func TestScenariosCiteTheContract(t *testing.T) {
	sections := contractSections(t)
	scs, err := conformance.Scenarios()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range scs {
		if !strings.HasPrefix(s.Requires, "Requires docs/CONTRACT.md §") {
			t.Errorf("%s: %q does not start its description with \"Requires docs/CONTRACT.md §...\": %q", s.Feature, s.Name, s.Requires)
			continue
		}
		for _, m := range regexp.MustCompile(`§(\d+(?:\.\d+)?)`).FindAllStringSubmatch(s.Requires, -1) {
			if !sections[m[1]] {
				t.Errorf("%s: %q cites §%s, which docs/CONTRACT.md does not have", s.Feature, s.Name, m[1])
			}
		}
	}
}

// Every step's example matches its own pattern and no other, across the
// conformance steps and the simulator steps the features may use.
func TestStepExamples(t *testing.T) {
	var all []scenario.Step
	for _, g := range conformance.Groups() {
		all = append(all, g.Steps...)
	}
	for _, g := range scenario.Groups() {
		if g.Name == "Faults" || g.Name == "Clock" || g.Name == "Journal" {
			all = append(all, g.Steps...)
		}
	}
	for _, g := range conformance.Groups() {
		for _, st := range g.Steps {
			if st.Doc == "" {
				t.Errorf("%s: no doc", st.Pattern)
			}
			line := st.Example
			for _, kw := range []string{"Given ", "When ", "Then ", "And "} {
				line = strings.TrimPrefix(line, kw)
			}
			line, _, _ = strings.Cut(line, "\n")
			var matches []string
			for _, other := range all {
				if regexp.MustCompile(other.Pattern).MatchString(line) {
					matches = append(matches, other.Pattern)
				}
			}
			if len(matches) != 1 || matches[0] != st.Pattern {
				t.Errorf("example %q of %s matches %v", line, st.Pattern, matches)
			}
		}
	}
	// Every step the features use is defined (godog's Strict would only say so at run time).
	scs, err := conformance.Scenarios()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range scs {
		for _, text := range s.Steps {
			n := 0
			for _, st := range all {
				if regexp.MustCompile(st.Pattern).MatchString(text) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%s: step %q matches %d definitions", s.Feature, text, n)
			}
		}
	}
}

// docs/CONFORMANCE.md is what conformance.Doc renders.
func TestDocIsFresh(t *testing.T) {
	doc, err := conformance.Doc()
	if err != nil {
		t.Fatal(err)
	}
	const file = "../docs/CONFORMANCE.md"
	if os.Getenv("PSPSIM_UPDATE_DOCS") == "1" {
		if err := os.WriteFile(file, doc, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, doc) {
		t.Errorf("%s is stale: run PSPSIM_UPDATE_DOCS=1 go test ./conformance", file)
	}
	for _, c := range conformance.Codes() {
		if !bytes.Contains(have, []byte("`"+string(c.Code)+"`")) {
			t.Errorf("%s does not list %s", file, c.Code)
		}
	}
}

// The suite delivers every vector of the reference file: the ECIES outline has
// one example row per vector, with the vector's expectation.
func TestEveryVectorIsDelivered(t *testing.T) {
	b, err := os.ReadFile("vectors/ecies-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	ref, err := os.ReadFile("../simulator/ecies/testdata/ecies-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ref, b) {
		t.Fatal("conformance/vectors/ecies-vectors.json differs from simulator/ecies/testdata/ecies-vectors.json (the reference copy): copy it again")
	}
	var file struct {
		Vectors []struct{ Name, Expect string }
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	scs, err := conformance.Scenarios()
	if err != nil {
		t.Fatal(err)
	}
	delivered := map[string]bool{}
	for _, s := range scs {
		if m := regexp.MustCompile(`^ECIES vector (\S+) \((ok|fail)\)$`).FindStringSubmatch(s.Name); m != nil {
			delivered[m[1]+"/"+m[2]] = true
		}
	}
	for _, v := range file.Vectors {
		if !delivered[v.Name+"/"+v.Expect] {
			t.Errorf("vector %s (%s) is not delivered by features/conformance/ecies.feature", v.Name, v.Expect)
		}
	}
	if len(delivered) != len(file.Vectors) {
		t.Errorf("ecies.feature delivers %d vectors, the file has %d", len(delivered), len(file.Vectors))
	}
}

// The vectors made for an app's key mean what the originals mean: ok ones
// open to the vector's card, fail ones do not open; for the vectors' own key
// they are the file's bytes.
func TestVectorsForAnotherKey(t *testing.T) {
	yaml, err := conformance.LoadAppConfig("../examples/paymentapp/app.yaml")
	if err != nil {
		t.Fatal(err)
	}
	der, err := decodeB64(yaml.Start.Env["PAYMENTAPP_ECIES_PRIVATE_KEY"])
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecies.ParsePrivateKey(der)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range conformance.VectorsFor(t, yaml.ECIESPublicKey) {
		var pkg ecies.Package
		if err := json.Unmarshal(v.Data, &pkg); err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		card, err := ecies.OpenCard(key, pkg, ecies.Settings{})
		switch {
		case v.Expect == "ok" && (err != nil || card.Number != v.Card):
			t.Errorf("%s: made for the app's key, it does not open to its card: %v", v.Name, err)
		case v.Expect == "fail" && err == nil:
			t.Errorf("%s: made for the app's key, it opens", v.Name)
		case v.Verbatim && v.Expect == "ok":
			t.Errorf("%s: sent verbatim, although the app's key is not the vectors' recipient", v.Name)
		}
	}
	var file struct {
		Vectors []struct {
			RecipientPublicKeySpki string
			Data                   json.RawMessage
		}
	}
	b, _ := os.ReadFile("vectors/ecies-vectors.json")
	json.Unmarshal(b, &file)
	own := file.Vectors[0].RecipientPublicKeySpki
	for i, v := range conformance.VectorsFor(t, own) {
		if !v.Verbatim || !jsonEqual(v.Data, file.Vectors[i].Data) {
			t.Errorf("%s: for the vectors' own key the data is not the file's", v.Name)
		}
	}
}

func jsonEqual(a, b []byte) bool {
	var x, y bytes.Buffer
	if json.Compact(&x, a) != nil || json.Compact(&y, b) != nil {
		return false
	}
	return bytes.Equal(x.Bytes(), y.Bytes())
}

// app.yaml errors name every broken field at once.
func TestAppConfigCheck(t *testing.T) {
	for _, f := range refAppYAML {
		good, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conformance.ParseAppConfig(good); err != nil {
			t.Fatalf("the reference app's %s: %v", f, err)
		}
	}
	for _, c := range []struct {
		name, yaml string
		want       []string
	}{
		{"empty", "name: x\n", []string{"clientId: is required", "clientSecret: is required", "endpoints.paymentUrl: is required", "eciesPublicKey: is required", "psp.system: is required"}},
		{"bad URL and key", "clientId: a\nclientSecret: b\neciesPublicKey: nope\nendpoints: {paymentUrl: 'ftp://x/pay'}\npsp: {system: adyen}\n",
			[]string{"endpoints.paymentUrl: \"ftp://x/pay\" is not an absolute http(s) URL", "eciesPublicKey: is not", "psp.system: \"adyen\""}},
		{"codepay without merchant", "psp: {system: codepay, sandbox: {appId: a, publicKey: nope}, live: {appId: a, merchantNo: '1'}}\n",
			[]string{"psp.sandbox: appId and merchantNo are required", "psp.sandbox.publicKey: is not a PEM public key"}},
		{"codepay with a secret only", "psp: {system: codepay, sandbox: {appId: a, secret: s}, live: {appId: a, secret: s}}\n",
			[]string{"psp.sandbox: appId and merchantNo are required", "psp.live: appId and merchantNo are required"}},
		{"unknown field", "clientId: a\nclientSecrets: b\n", []string{"field clientSecrets not found"}},
		{"start without command", "start: {readyUrl: 'ftp://x/ready'}\n", []string{"start.command: is required", "start.readyUrl: \"ftp://x/ready\" is not an absolute http(s) URL"}},
		{"bad duration", "suite: {resultWait: soon}\n", []string{`"soon" is not a duration`}},
	} {
		_, err := conformance.ParseAppConfig([]byte(c.yaml))
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: the error lacks %q:\n%v", c.name, w, err)
			}
		}
	}
}

func decodeB64(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
}

// The app's answers are judged against specs/genstore-app.yaml: status and body.
func TestAnswersAreCheckedAgainstTheAppSpec(t *testing.T) {
	for _, c := range []struct {
		name, path   string
		status       int
		body, reason string
	}{
		{"a good payment answer", "/payment_query", 200, `{"channelPaymentId":"1","status":"SUCCESS","error":""}`, ""},
		{"an unknown status", "/payment_query", 200, `{"channelPaymentId":"1","status":"DONE","error":""}`, "status"},
		{"a missing field", "/refund_query", 200, `{"status":"SUCCESS"}`, "breaks genstore-app.yaml"},
		{"a good 404", "/refund_query", 404, `{"error":"refundId: unknown"}`, ""},
		{"an undeclared status", "/payment_query", 500, `{"error":"boom"}`, "not an answer genstore-app.yaml allows"},
		{"not JSON", "/payment_query", 200, `<html>`, "not JSON"},
	} {
		got := conformance.CheckAnswer(t, c.path, "GET", c.status, c.body)
		if (c.reason == "") != (got == "") || !strings.Contains(got, c.reason) {
			t.Errorf("%s: %q (want %q)", c.name, got, c.reason)
		}
	}
}

// Without start.readyUrl the runner waits until the app's paymentUrl takes a
// connection; with one, until it answers 2xx.
func TestReadyCheck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app := conformance.AppConfig{Start: &conformance.StartConfig{Command: []string{"x"}}}
	app.Endpoints.PaymentURL = "http://" + ln.Addr().String() + "/payment"
	ready, what := conformance.ReadyCheck(app)
	if !ready() {
		t.Error("a listening app is not ready")
	}
	ln.Close()
	if ready() || !strings.Contains(what, ln.Addr().String()) {
		t.Errorf("a closed port is ready, or the message does not name it: %q", what)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	for path, want := range map[string]bool{"/healthz": true, "/starting": false} {
		app.Start.ReadyURL = srv.URL + path
		if ready, _ := conformance.ReadyCheck(app); ready() != want {
			t.Errorf("readyUrl %s: ready %t", path, !want)
		}
	}
}

// An app of its own on CodePay: the runner registers the public keys app.yaml
// gives, for the app id and merchant it names, before the first scenario.
func TestPrepareRegistersCodePayKeys(t *testing.T) {
	yaml, err := conformance.LoadAppConfig(refAppYAML["codepay"])
	if err != nil {
		t.Fatal(err)
	}
	pub := readFile(t, "../fixtures/keys/codepay-app-demo.pub.pem")
	livePub := readFile(t, "../fixtures/keys/codepay-app-demo-live.pub.pem")
	yaml.PSP.Sandbox = conformance.Credentials{AppID: "my-codepay-app", MerchantNo: "302300000342", PublicKey: pub}
	yaml.PSP.Live = conformance.Credentials{AppID: "my-codepay-app", MerchantNo: "302300000342", PublicKey: livePub}
	if err := yaml.Check(); err != nil {
		t.Fatal(err)
	}
	sb := startSandbox(t, 5)
	h, err := conformance.NewHarness(sb.URL, servedAt(yaml, "http://127.0.0.1:1"), testTiming)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(sb.URL + "/_sim/codepay/apps")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Apps []struct {
			AppID     string   `json:"appId"`
			Merchants []string `json:"merchants"`
			Sandbox   *struct {
				PublicKeyPEM string `json:"publicKeyPem"`
			} `json:"sandbox"`
			Live *struct {
				PublicKeyPEM string `json:"publicKeyPem"`
			} `json:"live"`
		} `json:"apps"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	for _, a := range out.Apps {
		if a.AppID != "my-codepay-app" {
			continue
		}
		if !slices.Equal(a.Merchants, []string{"302300000342"}) || a.Sandbox == nil || a.Live == nil ||
			strings.TrimSpace(a.Sandbox.PublicKeyPEM) != strings.TrimSpace(pub) || strings.TrimSpace(a.Live.PublicKeyPEM) != strings.TrimSpace(livePub) {
			t.Errorf("registered as %+v", a)
		}
		return
	}
	t.Errorf("my-codepay-app is not registered: %+v", out.Apps)
}
