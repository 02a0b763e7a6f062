package conformance

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	gherkin "github.com/cucumber/gherkin/go/v26"
	messages "github.com/cucumber/messages/go/v21"

	"github.com/pspsim/pspsim/features"
)

// Themes are the scenario tags of the suite, one per part of docs/CONTRACT.md §8.
// Every scenario carries at least one; BugCatalog themes are among them.
var Themes = []string{"install", "payment", "capture", "void", "refund", "idempotency", "immutable", "3ds", "testmode", "ecies", "signature", "deadline", "query", "privacy"}

// ScenarioInfo is one scenario as the feature files declare it (an outline
// gives one per example row).
type ScenarioInfo struct {
	Feature     string // the file, "conformance/refund.feature"
	FeatureName string
	Name        string
	Tags        []string // with @
	Steps       []string
	// Line is the line of its Scenario (or Scenario Outline) keyword.
	Line int
	// Requires is the scenario's description: the docs/CONTRACT.md sections
	// that require exactly what it demands ("Requires docs/CONTRACT.md §2.3: ...").
	Requires string
}

// RunsFor reports whether the scenario runs for apps whose PSP is psp: a
// scenario tagged with PSPs (@vmgateway, @codepay) is about their own
// behaviour and runs only for them; every other scenario runs for every PSP.
func (s ScenarioInfo) RunsFor(psp string) bool {
	var only []string
	for _, t := range s.Tags {
		if p := strings.TrimPrefix(t, "@"); slices.Contains(PSPs, p) {
			only = append(only, p)
		}
	}
	return len(only) == 0 || slices.Contains(only, psp)
}

// pspNote says for which PSPs a scenario runs, when not for all.
func (s ScenarioInfo) pspNote() string {
	var only []string
	for _, p := range PSPs {
		if s.RunsFor(p) {
			only = append(only, "`"+p+"`")
		}
	}
	if len(only) == len(PSPs) {
		return ""
	}
	return " — **" + strings.Join(only, ", ") + " only**"
}

// Path is where godog finds the scenario: "conformance/refund.feature:12"
// (an outline's line runs all its examples).
func (s ScenarioInfo) Path() string { return fmt.Sprintf("%s:%d", s.Feature, s.Line) }

// Scenarios parses the embedded feature files.
func Scenarios() ([]ScenarioInfo, error) {
	fsys := features.Conformance()
	entries, err := fs.ReadDir(fsys, features.ConformanceDir)
	if err != nil {
		return nil, err
	}
	var out []ScenarioInfo
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".feature") {
			continue
		}
		file := path.Join(features.ConformanceDir, e.Name())
		b, err := fs.ReadFile(fsys, file)
		if err != nil {
			return nil, err
		}
		ids := (&messages.Incrementing{}).NewId
		doc, err := gherkin.ParseGherkinDocument(bytes.NewReader(b), ids)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		scenarios := map[string]*messages.Scenario{}
		for _, c := range doc.Feature.Children {
			if c.Scenario != nil {
				scenarios[c.Scenario.Id] = c.Scenario
			}
		}
		for _, p := range gherkin.Pickles(*doc, file, ids) {
			s := ScenarioInfo{Feature: file, FeatureName: doc.Feature.Name, Name: p.Name}
			if sc := scenarios[p.AstNodeIds[0]]; sc != nil {
				s.Line = int(sc.Location.Line)
				s.Requires = strings.Join(strings.Fields(sc.Description), " ")
			}
			for _, t := range p.Tags {
				s.Tags = append(s.Tags, t.Name)
			}
			for _, st := range p.Steps {
				s.Steps = append(s.Steps, st.Text)
			}
			out = append(out, s)
		}
	}
	return out, nil
}

// Doc renders docs/CONFORMANCE.md: how the suite works, its verdict codes,
// its scenarios by theme and its steps. A test fails when the file is stale;
// PSPSIM_UPDATE_DOCS=1 go test ./conformance rewrites it.
func Doc() ([]byte, error) {
	scs, err := Scenarios()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(docHead)
	b.Write(CodesMarkdown())
	b.WriteString("\n## Scenarios by theme\n\nEach scenario carries its theme's tag; `--tags @idempotency` runs one theme, `--tags '~@deadline'` all but one. " +
		"Under each, the sections of docs/CONTRACT.md that require exactly what it demands.\n")
	byTheme := map[string][]ScenarioInfo{}
	for _, s := range scs {
		for _, t := range s.Tags {
			byTheme[strings.TrimPrefix(t, "@")] = append(byTheme[strings.TrimPrefix(t, "@")], s)
		}
	}
	for _, t := range Themes {
		list := byTheme[t]
		fmt.Fprintf(&b, "\n### @%s (%d)\n\n", t, len(list))
		seen := map[string]bool{}
		for _, s := range list {
			if seen[s.Path()] { // an outline's examples share one citation
				fmt.Fprintf(&b, "- %s — `%s`%s\n", s.Name, s.Feature, s.pspNote())
				continue
			}
			seen[s.Path()] = true
			fmt.Fprintf(&b, "- %s — `%s`%s  \n  %s\n", s.Name, s.Feature, s.pspNote(), strings.TrimPrefix(s.Requires, "Requires "))
		}
	}
	fmt.Fprintf(&b, "\n%d scenarios in all.\n", len(scs))
	b.WriteString("\n## Which scenarios run for which PSP\n\nA scenario tagged with a PSP (`@vmgateway`, `@codepay`) is about that PSP's own " +
		"behaviour and runs only for apps whose `psp.system` it names; every other scenario reads \"the PSP\" and runs for every PSP, " +
		"asking whichever PSP the app uses.\n\n| PSP | scenarios | only for this PSP |\n|---|---|---|\n")
	for _, p := range PSPs {
		n, own := 0, []string{}
		for _, s := range scs {
			if !s.RunsFor(p) {
				continue
			}
			n++
			if s.pspNote() != "" {
				own = append(own, s.Name)
			}
		}
		list := "—"
		if len(own) > 0 {
			list = strings.Join(own, "; ")
		}
		fmt.Fprintf(&b, "| `%s` | %d | %s |\n", p, n, list)
	}
	b.WriteString("\n## Steps\n\nThe conformance features use these steps, and the simulator's Faults, Clock and Journal steps " +
		"(features/STEPS.md). Write your own features with them and run them with `--format`/`--tags` as usual; a step that judges " +
		"the app fails with a verdict code.\n")
	for _, g := range Groups() {
		fmt.Fprintf(&b, "\n### %s\n\n%s\n", g.Name, g.Doc)
		for _, st := range g.Steps {
			fmt.Fprintf(&b, "\n- `%s`  \n  %s  \n  e.g. `%s`\n", st.Pattern, st.Doc, strings.ReplaceAll(st.Example, "\n", " "))
		}
	}
	return b.Bytes(), nil
}

// docHead is docs/CONFORMANCE.md up to the verdict table: how the suite judges,
// and what an app needs to know to be run by it.
const docHead = "# The conformance suite\n\n" +
	"<!-- Generated by conformance.Doc() from the verdict table (conformance/codes.go), the feature\n" +
	"     files (features/conformance) and the step definitions. Do not edit: run\n" +
	"     PSPSIM_UPDATE_DOCS=1 go test ./conformance -->\n\n" +
	"`pspsim conformance --app app.yaml` judges a Genstore payment app against [docs/CONTRACT.md](CONTRACT.md)\n" +
	"(§8 lists what it checks; the magic cards are in [docs/TESTCARDS.md](TESTCARDS.md)). README.md, \"Conformance\", says how\n" +
	"to write `app.yaml` and run it locally and in CI; this page says how your app is run, what the suite does, and what its\n" +
	"verdicts mean. Everything it judges by is in this repository.\n\n" +
	"## Your app in a run\n\n" +
	"**The URLs in your app's environment.** When `app.yaml` has `start`, the runner starts your app with these variables\n" +
	"added to its environment (and `start.env`, and `--app-env`). They are absolute, without a trailing slash, and derived\n" +
	"from the sandbox's own base URL: build every URL from them, never from a fixed host or port.\n\n" +
	"| variable | what | example (in-process sandbox) | your app calls |\n" +
	"|---|---|---|---|\n" +
	"| `PSPSIM_URL` | the sandbox (`--target` when given) | `http://127.0.0.1:41235` | — |\n" +
	"| `GENSTORE_URL` | Genstore's API for apps (`specs/genstore.yaml`) | `http://127.0.0.1:41235/genstore` | `$GENSTORE_URL/api/202412/oauth/access_token`, `$GENSTORE_URL/api/202412/app/payment/{paymentId}` |\n" +
	"| `VMGATEWAY_URL` | the card gateway (`specs/vmgateway.yaml`) | `http://127.0.0.1:41235/vm` | `$VMGATEWAY_URL/v1/auth/token`, `$VMGATEWAY_URL/v1/payments` |\n" +
	"| `CODEPAY_URL` | CodePay (`specs/codepay.yaml`) | `http://127.0.0.1:41235/codepay` | `$CODEPAY_URL/api/entry`, `$CODEPAY_URL/api/card/capture` |\n" +
	"| `CODEPAY_GATEWAY_PUBLIC_KEY` | CodePay's public key (`gateway_rsa_public_key`, bare base64 SPKI): verify every CodePay answer and notification with it, encrypt `pay.merchant.checkout` cards to it | `MIIBIjANBgkqhkiG9w0BAQEFAAOC…` | — (`GET $PSPSIM_URL/_sim/codepay/gateway-key` answers the same, and as PEM) |\n\n" +
	"With `--target http://127.0.0.1:7357` they are `http://127.0.0.1:7357`, `http://127.0.0.1:7357/genstore`, and so on;\n" +
	"with `--namespace` (or `--parallel`) each run's namespace's: `http://127.0.0.1:7357/ns/ns-3f91211af0/genstore`, …\n" +
	"Without `start` the runner starts nothing: your app must already run, pointed at the same URLs.\n\n" +
	"**Where Genstore reaches your app.** `endpoints` in `app.yaml` are the seven URLs Genstore calls (docs/CONTRACT.md §2.1);\n" +
	"the runner registers them with the sandbox's Genstore, so they must be reachable from it (on the same machine:\n" +
	"loopback). Each scenario installs your app on a fresh shop through the OAuth flow of §1.2.\n\n" +
	"**`psp:`** names the PSP your app charges cards with — `system: vmgateway`, the Visa/Mastercard gateway\n" +
	"(docs/CONTRACT.md §7.1), or `system: codepay`, CodePay's merchant-hosted checkout (§7.2) — and its credentials in each\n" +
	"environment (`sandbox`, `live`). The suite uses them only to tell your app's calls in the PSP's records from anyone\n" +
	"else's, and to judge test-mode routing (§6); it never gives them to your app. Your app gets its PSP credentials from its\n" +
	"own configuration — `start.env`, a file, a secret store — as in production.\n\n" +
	"- `vmgateway`: `appId` and `secret` per environment. The sandbox's credentials are the gateway's fixtures (`pspsim\n" +
	"  fixtures`, `fixtures/vmgateway.yaml`): the demo merchant `086666075137001` with its sandbox and live secrets.\n" +
	"- `codepay`: `appId` and `merchantNo` per environment (one app id holds both environments' keys: the key a request is\n" +
	"  signed with decides its environment), and optionally `publicKey`, the PEM of the app's RSA public key for that\n" +
	"  environment: the runner registers both keys with the sandbox's CodePay for that app id and merchant before the first\n" +
	"  scenario. Without `publicKey` the app id must be one the sandbox knows — the fixtures' demo apps\n" +
	"  (`fixtures/codepay.yaml`), whose private keys are `fixtures/keys/codepay-app-demo.pem` (sandbox) and\n" +
	"  `codepay-app-demo-live.pem` (live); `examples/paymentapp/app-codepay.yaml` uses them.\n\n" +
	"**`start.readyUrl`.** After starting your app the runner polls `readyUrl` until it answers `2xx` (at most\n" +
	"`start.readyTimeout`, default 2 min, so that `go run` may compile first). Without `readyUrl` it waits until the host and\n" +
	"port of `endpoints.paymentUrl` take a TCP connection. If the process exits, or the wait runs out, the run stops with\n" +
	"exit status 3 before any scenario.\n\n" +
	"**The PSP's notifications.** The card gateway sends a signed webhook for every payment and refund status change to\n" +
	"each URL subscribed with `POST $VMGATEWAY_URL/v1/webhooks/subscriptions` (per environment: subscribe with each\n" +
	"environment's token; docs/CONTRACT.md §7.1) — subscribe at start, with a URL the sandbox can reach. CodePay posts each\n" +
	"order's final status, signed with its key, to the order's `notify_url` and wants the body `success` back (§7.2). The\n" +
	"suite's faults on notifications (late, twice, out of order, contradicting, with a broken signature) act on those\n" +
	"deliveries. An app that takes no notifications learns outcomes by inquiring at its PSP, which the contract allows; the\n" +
	"notification faults then find nothing to act on.\n\n" +
	"## How it judges\n\n" +
	"- **A sandbox of its own.** The runner starts pspsim in process on a loopback port with the **simulated clock**\n" +
	"  (Genstore's retries, reconciliation polls and deadlines, the card gateway's refund settlement and authorization\n" +
	"  lifetime, CodePay's notification retries move only when a scenario moves the clock) and the **wall clock for\n" +
	"  signature timestamps** (apps check freshness against real time, and CodePay checks the apps' timestamps against it);\n" +
	"  or it resets a running `pspsim serve --clock=sim` (`--target`). Magic amounts are off:\n" +
	"  every fault a scenario needs, it sets up itself with the fault engine, and removes it when the scenario ends.\n" +
	"- **A fresh shop per scenario.** The app is registered once; every scenario creates its own shop (test mode unless it\n" +
	"  says live) and installs the app on it. Scenarios run one after the other: they share the app and the clock.\n" +
	"- **Both ends.** Genstore's side: every answer the app gave to every delivery (duplicates included), the callbacks it\n" +
	"  took and those it refused, its results, its deadline events. The PSP's side: the PSP's own records — its payments\n" +
	"  and refunds with the environment each operation's credentials chose — and every call the app made to it, accepted,\n" +
	"  refused or answered by a fault (the card gateway's `api.request`, `api.refused`; CodePay's `request.answered`,\n" +
	"  `request.refused`; `fault.fired`): \"no call to the PSP\" means none.\n" +
	"- **One view of every PSP.** A step reads \"the PSP\" and asks whichever PSP `app.yaml` names, in the card gateway's\n" +
	"  words: CodePay's sale is a `CAPTURED` payment, its pre-authorization (`trans_type` 4) `AUTHORIZED` until Capture\n" +
	"  Payment completes it, `CANCELLED` once Cancel Payment released it; its refunds (`SUCCEEDED`, `FAILED`) are read from\n" +
	"  the sale, or from the capture of a pre-authorization (`GET /_sim/codepay/transactions/{transNo}`). Its money\n" +
	"  operations are `pay.merchant.checkout` (and the other ways to take an order), Capture Payment, Cancel Payment (and\n" +
	"  `order.revoker`), Refund Payment and `order.refund.submit`; queries move nothing.\n" +
	"- **Real time for the app, and what it owes.** The app runs in real time: a step that needs something from it polls\n" +
	"  for up to `suite.resultWait` (10 s); a step that checks that nothing more happens waits until the journal has been\n" +
	"  quiet for `suite.quiet` (300 ms). Before the suite moves the clock it works out what the app owes for what has\n" +
	"  happened — for every operation it acknowledged (or is still working on) without a result: a call to the PSP or a\n" +
	"  callback, and a callback once the PSP's outcome is final — and waits for it, then for quiet. So the order a correct\n" +
	"  app does its work in never matters: acknowledging first, or charging first, is judged alike.\n" +
	"- **Genstore's retries are Genstore's.** An app may answer `5xx` (or nothing) and be retried (docs/CONTRACT.md §2.5):\n" +
	"  whenever a step waits for what an operation leads to, the suite plays Genstore's retry schedule on the clock, one\n" +
	"  retry after another once the app has answered the attempt before; when the retries run out the operation fails.\n" +
	"- **Every scenario ends with the same checks.** Once a scenario's steps have passed and the app is quiet, it is judged\n" +
	"  by the rules that hold everywhere: no card the scenario paid with appears where it must not (every such card — test\n" +
	"  cards too — is registered with the simulator's canary registry, which searches the raw bytes of everything the app\n" +
	"  sends Genstore or answers it, and of every request to the PSP outside the card's field; the suite searches the\n" +
	"  answers it reads itself), every answer to every delivery is the acknowledgement or a status Genstore retries,\n" +
	"  Genstore refused none of the app's callbacks, and every PSP call used the shop's environment.\n" +
	"- **One behaviour, one verdict.** A step that finds a result missing or wrong judges it once the app is quiet, and\n" +
	"  names the most specific rule: a callback Genstore refused (409 → `IMMUTABLE_CONTRADICTION`; then the wrong\n" +
	"  callback kind, a `false` without reason, a limit, a revoked token, any other refusal), then a PSP call in the wrong\n" +
	"  environment, then an answer Genstore took as final, then the result itself. The end-of-scenario checks go in the\n" +
	"  order privacy, acknowledgements, refusals, environment.\n" +
	"- **ECIES vectors.** Every vector of `simulator/ecies/testdata/ecies-vectors.json` is delivered as a payment, verbatim\n" +
	"  (`paymentMethodData` of Genstore's payment creation). The vectors are sealed to their own recipient key, which the app\n" +
	"  does not hold, so each is first made for the app's registered key: an ok vector is sealed again with its own ephemeral\n" +
	"  key, iv and plaintext; a fail vector gets its defect on that package (a cipherText of an ok vector becomes that\n" +
	"  vector's new cipherText, a flipped bit stays flipped, every other field — a changed suit or salt, a swapped iv or\n" +
	"  key, a raw point, a short iv, a package for someone else — is sent as the file has it). An app registered with the\n" +
	"  vectors' own key gets them byte for byte.\n\n" +
	"## Verdict codes\n\n" +
	"A failing step names the rule with a stable code and the section of docs/CONTRACT.md that states it, says what\n" +
	"happened, and lists the evidence (ids, journal sequence numbers, masked card numbers):\n\n" +
	"```\n" +
	"IMMUTABLE_CONTRADICTION (docs/CONTRACT.md §3.2): a final result never changes: no second, different callback\n" +
	"  what happened: the app sent a callback that contradicts the final result Genstore already holds\n" +
	"  evidence: journal #31 genstore callback.refused: PUT /genstore/api/202412/app/payment/PI002026112203255814972 answered 409: ...\n" +
	"  evidence: Genstore payment PI002026112203255814972: request delivered after 1 attempt(s), last HTTP 200\n" +
	"  evidence: journal #27 faults fault.fired.contradict: ...\n" +
	"```\n\n"
