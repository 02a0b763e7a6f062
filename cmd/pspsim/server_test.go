package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// patience bounds waits for what must happen: generous, so that a busy
// machine passes; a correct server is done long before.
const patience = 30 * time.Second

// rawRequest opens a connection and sends text as it is.
func rawRequest(t *testing.T, addr, text string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, text); err != nil {
		t.Fatal(err)
	}
	return c
}

// closedAfter reads c until the server closes it and says how long after
// since that was.
func closedAfter(t *testing.T, c net.Conn, since time.Time) time.Duration {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(patience))
	_, err := io.Copy(io.Discard, c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the server kept the connection open for %s", patience)
	}
	return time.Since(since)
}

func adminDo(t *testing.T, method, url, body, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestServeCutsSlowClients: a body or headers that trickle in are cut at
// the read timeouts, and a keep-alive connection left idle at the idle
// timeout, while the server goes on serving.
func TestServeCutsSlowClients(t *testing.T) {
	s := startServe(t, "--read-header-timeout", "1s", "--read-timeout", "1s", "--idle-timeout", "1s")
	opened := time.Now()
	slowBody := rawRequest(t, s.addr, "POST /vm/v1/auth/token HTTP/1.1\r\nHost: "+s.addr+"\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"appId\":")
	slowHeaders := rawRequest(t, s.addr, "GET /_sim/health HTTP/1.1\r\nHost: "+s.addr+"\r\nX-Slow: ")
	idle := rawRequest(t, s.addr, "GET /_sim/health HTTP/1.1\r\nHost: "+s.addr+"\r\n\r\n")
	for name, c := range map[string]net.Conn{"a slow body": slowBody, "slow headers": slowHeaders, "an idle keep-alive connection": idle} {
		if took := closedAfter(t, c, opened); took < 900*time.Millisecond {
			t.Errorf("%s: closed after %s, before its timeout", name, took)
		}
	}
	if code, body := adminDo(t, "GET", "http://"+s.addr+"/_sim/health", "", ""); code != http.StatusOK {
		t.Fatalf("the server stopped serving: %d %s", code, body)
	}
}

// TestServeLetsWhatWaitsOnPurposeOutlastTheTimeouts: the live event stream,
// a fault that holds the connection and added latency outlast the read and
// write timeouts; a plain request is not affected.
func TestServeLetsWhatWaitsOnPurposeOutlastTheTimeouts(t *testing.T) {
	s := startServe(t, "--clock", "sim", "--read-timeout", "1s", "--write-timeout", "1s")
	base := "http://" + s.addr

	// The stream: an event 2.5 s after it opened still arrives.
	res, err := http.Get(base + "/_sim/events/stream?kind=clock.moved")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()

	// Latency longer than the write timeout, then the answer.
	if code, body := adminDo(t, "POST", base+"/_sim/faults", `{"id":"slow","match":{"system":"vmgateway","operation":"createAccessToken"},"action":{"type":"latency","delay":"2s"}}`, ""); code != http.StatusCreated {
		t.Fatalf("fault: %d %s", code, body)
	}
	start := time.Now()
	code, body := adminDo(t, "POST", base+"/vm/v1/auth/token", `{"appId": "086666075137001", "secret": "184E52CF5365D2D7EE8EDA************"}`, "")
	if code != http.StatusOK || time.Since(start) < 2*time.Second {
		t.Fatalf("after 2s of latency: %d after %s %s", code, time.Since(start), body)
	}

	// A timeout fault holds 3 s, past the read timeout that would otherwise
	// cancel the request's context and end the hold at 1 s.
	if code, body := adminDo(t, "PUT", base+"/_sim/faults", `{"rules":[{"id":"hang","match":{"system":"vmgateway","operation":"createAccessToken"},"action":{"type":"timeout","hold":"3s"}}]}`, ""); code != http.StatusOK {
		t.Fatalf("fault: %d %s", code, body)
	}
	token := `{"appId": "086666075137001", "secret": "184E52CF5365D2D7EE8EDA************"}`
	sent := time.Now()
	c := rawRequest(t, s.addr, fmt.Sprintf("POST /vm/v1/auth/token HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", s.addr, len(token), token))
	if took := closedAfter(t, c, sent); took < 2900*time.Millisecond {
		t.Fatalf("the held request ended after %s, not 3s", took)
	}

	if code, body := adminDo(t, "POST", base+"/_sim/clock/advance", `{"by":"1m"}`, ""); code != http.StatusOK {
		t.Fatalf("advance: %d %s", code, body)
	}
	deadline := time.After(patience)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the event stream was cut")
			}
			if strings.Contains(l, "clock.moved") {
				return
			}
		case <-deadline:
			t.Fatal("no event on the stream")
		}
	}
}

// TestServeCapsConnections: beyond --max-connections a client waits to be
// accepted rather than the server running out of descriptors.
func TestServeCapsConnections(t *testing.T) {
	s := startServe(t, "--max-connections", "2")
	a := rawRequest(t, s.addr, "")
	b := rawRequest(t, s.addr, "")
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	if res, err := client.Get("http://" + s.addr + "/_sim/health"); err == nil {
		res.Body.Close()
		t.Fatal("a third connection was served while two were open")
	}
	a.Close()
	b.Close()
	client.Timeout = patience
	res, err := client.Get("http://" + s.addr + "/_sim/health")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
}

// TestServeAdminToken: with --admin-token the control API wants it; the CLI
// passes it (--admin-token or PSPSIM_ADMIN_TOKEN).
func TestServeAdminToken(t *testing.T) {
	s := startServe(t, "--clock", "sim", "--clock-start", "2026-11-22T10:00:00Z", "--admin-token", "t0ken")
	base := "http://" + s.addr
	if code, _ := adminDo(t, "GET", base+"/_sim/clock", "", ""); code != http.StatusUnauthorized {
		t.Fatalf("without the token: %d", code)
	}
	if code, _ := adminDo(t, "POST", base+"/_sim/reset", "", "t0ken"); code != http.StatusOK {
		t.Fatalf("with the token: %d", code)
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"health", "--url", base}, &out, &errb, nil); code == 0 {
		t.Fatal("health without the token succeeded")
	}
	if code := run(context.Background(), []string{"health", "--url", base, "--admin-token", "t0ken"}, &out, &errb, nil); code != 0 {
		t.Fatalf("health with --admin-token: %d %s", code, errb.String())
	}
	t.Setenv("PSPSIM_ADMIN_TOKEN", "t0ken")
	out.Reset()
	if code := run(context.Background(), []string{"codepay", "sign", "--url", base, `{"app_id":"wz9f2a175d0e0ef632","method":"order.query"}`}, &out, &errb, nil); code != 0 ||
		!strings.Contains(out.String(), `"timestamp":"1795341600000"`) {
		t.Fatalf("codepay sign with the token from the environment: %d %s %s", code, out.String(), errb.String())
	}
	if strings.Contains(s.errb.String(), "WARNING") {
		t.Errorf("a warning for a loopback listener: %s", s.errb.String())
	}
}

// TestServeWarnsWhenTheControlAPIIsExposed: beyond loopback without a token,
// the start says so loudly; a Host that is not the server's own is refused
// unless --allowed-hosts names it.
func TestServeWarnsWhenTheControlAPIIsExposed(t *testing.T) {
	s := startServe(t, "--addr", "0.0.0.0:0", "--allowed-hosts", "sandbox.internal")
	s.stop(t)
	if !strings.Contains(s.errb.String(), "WARNING") || !strings.Contains(s.errb.String(), "--admin-token") {
		t.Fatalf("no warning:\n%s", s.errb.String())
	}
	quiet := startServe(t, "--addr", "0.0.0.0:0", "--admin-token", "t")
	_, port, _ := net.SplitHostPort(quiet.addr)
	for host, want := range map[string]int{"sandbox.internal": http.StatusForbidden, "localhost:" + port: http.StatusOK} {
		req, _ := http.NewRequest("GET", "http://127.0.0.1:"+port+"/_sim/health", nil)
		req.Host = host
		req.Header.Set("Authorization", "Bearer t")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("Host %s: %d, want %d", host, res.StatusCode, want)
		}
	}
	quiet.stop(t)
	if strings.Contains(quiet.errb.String(), "WARNING") {
		t.Errorf("a warning with a token: %s", quiet.errb.String())
	}
	// --allowed-hosts names a host the control API answers to.
	named := startServe(t, "--allowed-hosts", "sandbox.internal")
	req, _ := http.NewRequest("GET", "http://"+named.addr+"/_sim/health", nil)
	req.Host = "sandbox.internal"
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("an allowed host: %d", res.StatusCode)
	}
}

// The config file's server section is read (it was once silently dropped).
func TestServerSectionIsRead(t *testing.T) {
	s, err := serverSection([]byte("server:\n  maxConnections: 7\n  readTimeout: 3s\n"))
	if err != nil || s.MaxConnections != 7 || time.Duration(s.ReadTimeout) != 3*time.Second || time.Duration(s.IdleTimeout) != time.Duration(defaultServer.IdleTimeout) {
		t.Fatalf("%+v %v", s, err)
	}
}
