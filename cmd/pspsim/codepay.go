package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pspsim/pspsim/fixtures"
	"github.com/pspsim/pspsim/simulator/codepay"
)

const codepayUsage = `pspsim codepay — sign and check CodePay messages for curl users.

  pspsim codepay sign [--key FILE] [--url U] [--keep-timestamp] [--form F] [FILE|-]
      Sign a request body as CodePay's SDKs do (SHA256withRSA over the sorted
      key=value string) and print it. The timestamp is set to now: the running
      pspsim's clock with --url (use it with --clock=sim), else this machine's.
      The key defaults to the demo app's sandbox key (fixtures/keys/codepay-app-demo.pem).
      --form picks the canonical form of the string to sign, as other
      published clients build it: sdk (default: empty values skipped,
      booleans true/false), keep-empty (attach= kept), bool-digit (true as 1,
      false skipped), keep-empty-bool-digit. pspsim verifies each (a form
      other than sdk with a warning); --strict accepts sdk only.
  pspsim codepay verify [--url U | --gateway-key FILE] [FILE|-]
      Check the signature of a CodePay answer or notification with the
      gateway's public key (published by --url's /_sim/codepay/gateway-key,
      else the fixture key).
  pspsim codepay encrypt-card [--url U | --gateway-key FILE] [JSON|-]
      Encrypt card JSON ({"pan":…,"expiry":"MMYY","cvv":…,"holder":…}) to the
      gateway's key (RSA PKCS#1 v1.5, base64) for pay.merchant.checkout.

  With --url, --admin-token (or PSPSIM_ADMIN_TOKEN) is the running pspsim's
  admin token, when it has one: its clock and key are read from /_sim.

Example:
  echo '{"app_id":"wz9f2a175d0e0ef632","method":"order.query","format":"JSON","charset":"UTF-8",
        "sign_type":"RSA2","version":"1.0","merchant_no":"302100041048","merchant_order_no":"A1"}' |
    pspsim codepay sign --url http://127.0.0.1:7357 - |
    curl -s -X POST http://127.0.0.1:7357/codepay/api/entry -H 'Content-Type: application/json' -d @- |
    pspsim codepay verify --url http://127.0.0.1:7357 -
`

// codepayCmd is `pspsim codepay`: helpers for people who call the CodePay
// emulator from a shell, where signing by hand is impractical.
func codepayCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, codepayUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	fs := newFlags("codepay "+args[0], "", stderr)
	keyFile := fs.String("key", "", "PEM private key of the app (default: the demo app's sandbox key)")
	gatewayKey := fs.String("gateway-key", "", "PEM public key of the gateway (default: --url's, else the fixture key)")
	url := fs.String("url", "", "base URL of a running pspsim (its clock and gateway key)")
	token := adminTokenFlag(fs, "with --url: its admin token")
	keep := fs.Bool("keep-timestamp", false, "sign: keep the body's timestamp")
	formName := fs.String("form", string(codepay.FormSDK), "sign: the canonical form of the string to sign (sdk, keep-empty, bool-digit, keep-empty-bool-digit)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	at := remote{url: strings.TrimRight(*url, "/"), token: token()}
	in, err := readInput(fs.Args())
	if err != nil {
		fmt.Fprintf(stderr, "pspsim codepay %s: %v\n", args[0], err)
		return 2
	}
	switch args[0] {
	case "sign":
		form, err := codepay.ParseForm(*formName)
		if err != nil {
			fmt.Fprintf(stderr, "pspsim codepay sign: --form: %v\n", err)
			return 2
		}
		out, err := signBody(ctx, in, *keyFile, at, *keep, form)
		if err != nil {
			fmt.Fprintf(stderr, "pspsim codepay sign: %v\n", err)
			return 1
		}
		fmt.Fprintln(stdout, string(out))
		return 0
	case "verify":
		pub, err := gatewayPublicKey(ctx, *gatewayKey, at)
		if err == nil {
			err = codepay.Verify(pub, bytes.TrimSpace(in))
		}
		if err != nil {
			fmt.Fprintf(stderr, "pspsim codepay verify: %v\n", err)
			return 1
		}
		fmt.Fprintln(stdout, "signature OK")
		return 0
	case "encrypt-card":
		pub, err := gatewayPublicKey(ctx, *gatewayKey, at)
		if err != nil {
			fmt.Fprintf(stderr, "pspsim codepay encrypt-card: %v\n", err)
			return 1
		}
		var card map[string]any
		if err := json.Unmarshal(in, &card); err != nil {
			fmt.Fprintf(stderr, "pspsim codepay encrypt-card: the card is not JSON: %v\n", err)
			return 2
		}
		compact, _ := json.Marshal(card)
		ct, err := rsa.EncryptPKCS1v15(rand.Reader, pub, compact)
		if err != nil {
			fmt.Fprintf(stderr, "pspsim codepay encrypt-card: %v\n", err)
			return 1
		}
		fmt.Fprintln(stdout, base64.StdEncoding.EncodeToString(ct))
		return 0
	}
	fmt.Fprintf(stderr, "pspsim codepay: unknown command %q\n\n%s", args[0], codepayUsage)
	return 2
}

// readInput reads the one argument: a file, "-" for stdin, or (for short
// JSON) the text itself.
func readInput(args []string) ([]byte, error) {
	if len(args) != 1 {
		return nil, errors.New("give one input: a file, - for stdin, or the JSON itself")
	}
	a := args[0]
	switch {
	case a == "-":
		return io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
	case strings.HasPrefix(strings.TrimSpace(a), "{"):
		return []byte(a), nil
	}
	return os.ReadFile(a)
}

func signBody(ctx context.Context, body []byte, keyFile string, at remote, keep bool, form codepay.Form) ([]byte, error) {
	keyPEM, err := fixtures.Read("keys/codepay-app-demo.pem")
	if keyFile != "" {
		keyPEM, err = os.ReadFile(keyFile)
	}
	if err != nil {
		return nil, err
	}
	key, err := codepay.ParsePrivateKey(keyPEM)
	if err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&fields); err != nil || fields == nil {
		return nil, errors.New("the body is not a JSON object")
	}
	if !keep {
		now, err := clockNow(ctx, at)
		if err != nil {
			return nil, err
		}
		fields["timestamp"] = json.RawMessage(strconv.Quote(strconv.FormatInt(now.UnixMilli(), 10)))
	}
	for k := range fields {
		if strings.EqualFold(k, "sign") {
			delete(fields, k)
		}
	}
	raw, _ := json.Marshal(fields)
	sign, err := codepay.SignForm(key, raw, form)
	if err != nil {
		return nil, err
	}
	fields["sign"], _ = json.Marshal(sign)
	return json.Marshal(fields)
}

// clockNow is the running pspsim's time (so signing works against
// --clock=sim), or this machine's.
func clockNow(ctx context.Context, at remote) (time.Time, error) {
	if at.url == "" {
		return time.Now(), nil
	}
	var c struct {
		Now time.Time `json:"now"`
	}
	if err := at.getJSON(ctx, "/_sim/clock", &c); err != nil {
		return time.Time{}, err
	}
	return c.Now, nil
}

func gatewayPublicKey(ctx context.Context, file string, at remote) (*rsa.PublicKey, error) {
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		return codepay.ParsePublicKey(b)
	case at.url != "":
		var k struct {
			PEM string `json:"publicKeyPem"`
		}
		if err := at.getJSON(ctx, "/_sim/codepay/gateway-key", &k); err != nil {
			return nil, err
		}
		return codepay.ParsePublicKey([]byte(k.PEM))
	}
	b, err := fixtures.Read("keys/codepay-gateway.pub.pem")
	if err != nil {
		return nil, err
	}
	return codepay.ParsePublicKey(b)
}

// remote is a running pspsim (--url) and its admin token.
type remote struct{ url, token string }

// getJSON reads a control-API answer of the running pspsim.
func (at remote) getJSON(ctx context.Context, path string, v any) error {
	url := at.url + path
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	res, err := adminClient(at.token, 0).Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d", url, res.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(v)
}
