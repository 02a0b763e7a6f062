// Command queueapp runs the second Genstore payment app (package queueapp).
//
//	QUEUEAPP_ADDR           listen address (default 127.0.0.1:7402)
//	QUEUEAPP_PUBLIC_URL     how browsers reach it (default http://ADDR)
//	GENSTORE_URL            Genstore's base URL (the conformance runner sets it)
//	VMGATEWAY_URL           the card gateway's base URL (the conformance runner sets it)
//	QUEUEAPP_CLIENT_ID, QUEUEAPP_CLIENT_SECRET, QUEUEAPP_ECIES_PRIVATE_KEY (PKCS#8 DER, base64)
//	VM_SANDBOX_APP_ID, VM_SANDBOX_SECRET, VM_LIVE_APP_ID, VM_LIVE_SECRET
package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pspsim/pspsim/examples/queueapp"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	addr := getenv("QUEUEAPP_ADDR", "127.0.0.1:7402")
	app, err := queueapp.New(queueapp.Config{
		GenstoreURL: getenv("GENSTORE_URL", "http://127.0.0.1:7357/genstore"), GatewayURL: getenv("VMGATEWAY_URL", "http://127.0.0.1:7357/vm"),
		ClientID: os.Getenv("QUEUEAPP_CLIENT_ID"), ClientSecret: os.Getenv("QUEUEAPP_CLIENT_SECRET"), ECIESPrivateKey: os.Getenv("QUEUEAPP_ECIES_PRIVATE_KEY"),
		SandboxAppID: os.Getenv("VM_SANDBOX_APP_ID"), SandboxSecret: os.Getenv("VM_SANDBOX_SECRET"),
		LiveAppID: os.Getenv("VM_LIVE_APP_ID"), LiveSecret: os.Getenv("VM_LIVE_SECRET"),
		PublicURL: getenv("QUEUEAPP_PUBLIC_URL", "http://"+addr), Logger: log,
	})
	if err != nil {
		log.Error("queueapp", "err", err)
		os.Exit(1)
	}
	defer app.Close()
	srv := &http.Server{Addr: addr, Handler: app.Handler(), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Info("queueapp listening", "addr", addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("queueapp", "err", err)
		os.Exit(1)
	}
}

func getenv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
