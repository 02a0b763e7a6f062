package paymentapp

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// appYAML is the shape the conformance runner reads (issue 7).
type appYAML struct {
	Name           string            `yaml:"name"`
	ClientID       string            `yaml:"clientId"`
	ClientSecret   string            `yaml:"clientSecret"`
	Scopes         []string          `yaml:"scopes"`
	Endpoints      map[string]string `yaml:"endpoints"`
	ECIESPublicKey string            `yaml:"eciesPublicKey"`
	PSP            struct {
		System  string `yaml:"system"`
		Sandbox struct {
			AppID  string `yaml:"appId"`
			Secret string `yaml:"secret"`
		} `yaml:"sandbox"`
		Live struct {
			AppID  string `yaml:"appId"`
			Secret string `yaml:"secret"`
		} `yaml:"live"`
	} `yaml:"psp"`
	Start struct {
		Command      []string          `yaml:"command"`
		Dir          string            `yaml:"dir"`
		Env          map[string]string `yaml:"env"`
		ReadyURL     string            `yaml:"readyUrl"`
		ReadyTimeout string            `yaml:"readyTimeout"`
	} `yaml:"start"`
	Suite map[string]string `yaml:"suite"`
}

// app.yaml must describe the app as it is: its key, its secret, its routes.
func TestAppYAML(t *testing.T) {
	data, err := os.ReadFile("app.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var y appYAML
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&y); err != nil {
		t.Fatal(err)
	}
	spki, err := os.ReadFile("testdata/ecies-sandbox-key.spki.b64")
	if err != nil {
		t.Fatal(err)
	}
	_, key := testKey(t)
	pub, _ := publicKeySPKI(key)
	if y.ECIESPublicKey != pub || strings.TrimSpace(string(spki)) != pub {
		t.Errorf("eciesPublicKey does not match testdata/ecies-sandbox-key.pem")
	}
	envKey, err := parseECIESPrivateKey(y.Start.Env["PAYMENTAPP_ECIES_PRIVATE_KEY"])
	if err != nil || !envKey.Equal(key) {
		t.Errorf("start.env's PAYMENTAPP_ECIES_PRIVATE_KEY is not the testdata key: %v", err)
	}
	if y.ClientID != y.Start.Env["PAYMENTAPP_CLIENT_ID"] || y.ClientSecret != y.Start.Env["PAYMENTAPP_CLIENT_SECRET"] || y.ClientSecret != testClientSecret {
		t.Error("client id/secret differ between the registration, start.env and the tests")
	}
	if (Credentials{y.PSP.Sandbox.AppID, y.PSP.Sandbox.Secret}) != sandboxCreds || (Credentials{y.PSP.Live.AppID, y.PSP.Live.Secret}) != liveCreds ||
		y.Start.Env["VM_SANDBOX_SECRET"] != sandboxCreds.Secret || y.Start.Env["VM_LIVE_SECRET"] != liveCreds.Secret {
		t.Error("psp credentials differ between psp and start.env")
	}
	if y.PSP.System != "vmgateway" || len(y.Scopes) != 3 {
		t.Errorf("psp.system %q, scopes %v", y.PSP.System, y.Scopes)
	}

	// Every endpoint is a route of the app, on the address the app is started with.
	methods := map[string]string{"onboardingUrl": "GET", "paymentQueryUrl": "GET", "refundQueryUrl": "GET"}
	handler := (&App{}).Handler().(*http.ServeMux)
	for _, name := range []string{"onboardingUrl", "paymentUrl", "captureUrl", "voidUrl", "refundUrl", "paymentQueryUrl", "refundQueryUrl"} {
		u, err := url.Parse(y.Endpoints[name])
		if err != nil || u.Host != y.Start.Env["PAYMENTAPP_ADDR"] {
			t.Errorf("%s = %q, not on %s", name, y.Endpoints[name], y.Start.Env["PAYMENTAPP_ADDR"])
			continue
		}
		method := methods[name]
		if method == "" {
			method = "POST"
		}
		if _, pattern := handler.Handler(httptest.NewRequest(method, u.Path, nil)); pattern == "" {
			t.Errorf("%s: the app has no route %s %s", name, method, u.Path)
		}
	}
	if u, _ := url.Parse(y.Start.ReadyURL); u == nil || u.Path != "/healthz" {
		t.Errorf("readyUrl = %q", y.Start.ReadyURL)
	}
	// The command runs from the repository's root, whatever the caller's directory.
	if _, err := os.Stat(filepath.Join(y.Start.Dir, "examples/paymentapp/cmd/paymentapp/main.go")); err != nil {
		t.Errorf("start.dir %q is not the directory start.command runs in: %v", y.Start.Dir, err)
	}
}

// app-codepay.yaml is the same app on CodePay: the same registration and key, psp and
// start.env naming the same CodePay app and merchant, key files that exist and hold the
// keys of the fixtures' demo app for each environment.
func TestAppYAMLOnCodePay(t *testing.T) {
	read := func(name string) map[string]any {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	vm, cp := read("app.yaml"), read("app-codepay.yaml")
	for _, k := range []string{"clientId", "clientSecret", "scopes", "endpoints", "eciesPublicKey"} {
		if !reflect.DeepEqual(vm[k], cp[k]) {
			t.Errorf("%s differs between app.yaml and app-codepay.yaml", k)
		}
	}
	psp := cp["psp"].(map[string]any)
	env := cp["start"].(map[string]any)["env"].(map[string]any)
	if psp["system"] != PSPCodePay || env["PAYMENTAPP_PSP"] != PSPCodePay {
		t.Fatalf("psp.system %v, PAYMENTAPP_PSP %v", psp["system"], env["PAYMENTAPP_PSP"])
	}
	for _, e := range []string{"sandbox", "live"} {
		c := psp[e].(map[string]any)
		if c["appId"] != env["CODEPAY_APP_ID"] || c["merchantNo"] != env["CODEPAY_MERCHANT_NO"] {
			t.Errorf("psp.%s %v is not the app start.env names (%v, %v)", e, c, env["CODEPAY_APP_ID"], env["CODEPAY_MERCHANT_NO"])
		}
	}
	for name, file := range map[string]string{"CODEPAY_SANDBOX_KEY_FILE": "codepay-app-demo", "CODEPAY_LIVE_KEY_FILE": "codepay-app-demo-live"} {
		path := filepath.Join("../..", env[name].(string))
		priv, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		key, err := parseRSAPrivateKey(string(priv))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		pubText, err := os.ReadFile(filepath.Join("../../fixtures/keys", file+".pub.pem"))
		if err != nil {
			t.Fatal(err)
		}
		pub, err := parseRSAPublicKey(string(pubText))
		if err != nil || !pub.Equal(&key.PublicKey) {
			t.Errorf("%s is not the private half of fixtures/keys/%s.pub.pem, which CodePay's fixtures register", name, file)
		}
	}
}
