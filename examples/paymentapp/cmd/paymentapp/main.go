// Command paymentapp runs the reference Genstore payment app.
//
// Configuration comes from the environment:
//
//	PAYMENTAPP_ADDR                 listen address (default 127.0.0.1:7401)
//	PAYMENTAPP_PUBLIC_URL           how Genstore, the gateway and browsers reach the app (default http://ADDR)
//	GENSTORE_URL                    Genstore's base URL (default http://127.0.0.1:7357/genstore)
//	VMGATEWAY_URL                   the card gateway's base URL (default http://127.0.0.1:7357/vm)
//	PAYMENTAPP_CLIENT_ID            the app's Genstore client id (required)
//	PAYMENTAPP_CLIENT_SECRET        its client secret (required)
//	PAYMENTAPP_ECIES_PRIVATE_KEY    the ECIES P-256 private key, PKCS#8 PEM or base64 DER (required,
//	                                or PAYMENTAPP_ECIES_PRIVATE_KEY_FILE naming a file holding it)
//	VM_SANDBOX_APP_ID, VM_SANDBOX_SECRET   card gateway sandbox credentials (test:true)
//	VM_LIVE_APP_ID, VM_LIVE_SECRET         card gateway live credentials (test:false)
//	PAYMENTAPP_PSP                  the PSP: vmgateway (default) or codepay
//	CODEPAY_URL                     CodePay's base URL (default http://127.0.0.1:7357/codepay)
//	CODEPAY_APP_ID, CODEPAY_MERCHANT_NO    the app's CodePay app id and merchant number
//	CODEPAY_SANDBOX_KEY, CODEPAY_LIVE_KEY  the app's RSA private keys (PEM) for each environment,
//	                                or CODEPAY_SANDBOX_KEY_FILE / CODEPAY_LIVE_KEY_FILE naming files
//	CODEPAY_GATEWAY_PUBLIC_KEY      CodePay's public key (PEM or base64 SPKI), which answers and
//	                                notifications are verified with and cards are encrypted to
//	PAYMENTAPP_BUGS                 comma-separated bug switches (see bugs.go); empty for the correct app
//	PAYMENTAPP_PSP_TIMEOUT          one gateway call's deadline (Go duration, default 5s)
//	PAYMENTAPP_CALLBACK_BACKOFF     callback retry waits, e.g. 250ms,500ms,1s (default in config.go)
//	PAYMENTAPP_RECONCILE_BACKOFF    gateway inquiry waits, e.g. 1s,2s,5s (default in config.go)
//
// GET /healthz answers 200 while the app serves. SIGINT or SIGTERM shut it down gracefully.
// `paymentapp health` asks GET /healthz of the app at PAYMENTAPP_ADDR and exits 0 when it
// answers 200: a container health check for images without a shell or curl.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/pspsim/pspsim/examples/paymentapp"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "health" {
		os.Exit(health(getenv("PAYMENTAPP_ADDR", "127.0.0.1:7401")))
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		log.Error("paymentapp stopped", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	addr := getenv("PAYMENTAPP_ADDR", "127.0.0.1:7401")
	cfg, err := configFromEnv(addr, log)
	if err != nil {
		return err
	}
	app, err := paymentapp.New(cfg)
	if err != nil {
		return err
	}
	defer app.Close()

	srv := &http.Server{
		Addr:              addr,
		Handler:           app.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	log.Info("paymentapp listening", "addr", ln.Addr().String(), "publicUrl", cfg.PublicURL, "eciesPublicKey", app.PublicKey())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
		return nil
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// health checks a running app: 0 when its /healthz answers 200, 1 otherwise.
func health(addr string) int {
	client := &http.Client{Timeout: 2 * time.Second}
	res, err := client.Get(publicURL(addr) + "/healthz")
	if err != nil {
		fmt.Fprintf(os.Stderr, "paymentapp health: %v\n", err)
		return 1
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		fmt.Fprintf(os.Stderr, "paymentapp health: /healthz answered %d\n", res.StatusCode)
		return 1
	}
	return 0
}

// configFromEnv reads the app's configuration from the environment.
func configFromEnv(addr string, log *slog.Logger) (paymentapp.Config, error) {
	key := os.Getenv("PAYMENTAPP_ECIES_PRIVATE_KEY")
	if file := os.Getenv("PAYMENTAPP_ECIES_PRIVATE_KEY_FILE"); key == "" && file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return paymentapp.Config{}, fmt.Errorf("PAYMENTAPP_ECIES_PRIVATE_KEY_FILE: %w", err)
		}
		key = string(data)
	}
	bugs, err := paymentapp.ParseBugs(os.Getenv("PAYMENTAPP_BUGS"))
	if err != nil {
		return paymentapp.Config{}, fmt.Errorf("PAYMENTAPP_BUGS: %w", err)
	}
	cfg := paymentapp.Config{
		GenstoreURL:     getenv("GENSTORE_URL", "http://127.0.0.1:7357/genstore"),
		ClientID:        os.Getenv("PAYMENTAPP_CLIENT_ID"),
		ClientSecret:    os.Getenv("PAYMENTAPP_CLIENT_SECRET"),
		ECIESPrivateKey: key,
		GatewayURL:      getenv("VMGATEWAY_URL", "http://127.0.0.1:7357/vm"),
		Sandbox:         paymentapp.Credentials{AppID: os.Getenv("VM_SANDBOX_APP_ID"), Secret: os.Getenv("VM_SANDBOX_SECRET")},
		Live:            paymentapp.Credentials{AppID: os.Getenv("VM_LIVE_APP_ID"), Secret: os.Getenv("VM_LIVE_SECRET")},
		PSP:             getenv("PAYMENTAPP_PSP", paymentapp.PSPCardGateway),
		PublicURL:       getenv("PAYMENTAPP_PUBLIC_URL", publicURL(addr)),
		Logger:          log,
		Bugs:            bugs,
	}
	if cfg.PSP == paymentapp.PSPCodePay {
		cfg.CodePay = paymentapp.CodePayConfig{
			URL: getenv("CODEPAY_URL", "http://127.0.0.1:7357/codepay"), AppID: os.Getenv("CODEPAY_APP_ID"),
			MerchantNo: os.Getenv("CODEPAY_MERCHANT_NO"), GatewayKey: os.Getenv("CODEPAY_GATEWAY_PUBLIC_KEY"),
		}
		if cfg.CodePay.SandboxKey, err = valueOrFile("CODEPAY_SANDBOX_KEY"); err != nil {
			return cfg, err
		}
		if cfg.CodePay.LiveKey, err = valueOrFile("CODEPAY_LIVE_KEY"); err != nil {
			return cfg, err
		}
	}
	if v := os.Getenv("PAYMENTAPP_PSP_TIMEOUT"); v != "" {
		if cfg.PSPTimeout, err = time.ParseDuration(v); err != nil {
			return cfg, fmt.Errorf("PAYMENTAPP_PSP_TIMEOUT: %w", err)
		}
	}
	if cfg.CallbackBackoff, err = durations("PAYMENTAPP_CALLBACK_BACKOFF"); err != nil {
		return cfg, err
	}
	if cfg.ReconcileBackoff, err = durations("PAYMENTAPP_RECONCILE_BACKOFF"); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// publicURL guesses the app's URL from its listen address (":7401" → http://127.0.0.1:7401).
func publicURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func durations(name string) ([]time.Duration, error) {
	v := os.Getenv(name)
	if v == "" {
		return nil, nil
	}
	var ds []time.Duration
	for _, s := range strings.Split(v, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		ds = append(ds, d)
	}
	return ds, nil
}

func getenv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// valueOrFile reads NAME from the environment or, when it is empty, the file NAME_FILE names.
func valueOrFile(name string) (string, error) {
	if v := os.Getenv(name); v != "" {
		return v, nil
	}
	file := os.Getenv(name + "_FILE")
	if file == "" {
		return "", nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s_FILE: %w", name, err)
	}
	return string(data), nil
}
