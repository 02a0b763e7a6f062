package host

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pspsim/pspsim/simulator/control"
)

// The client side of /_sim/namespaces, for the tools that run against a
// shared pspsim serve (pspsim scenario and conformance --namespace).

// RemoteSpec is a namespace to create on a running pspsim (admin.yaml
// NamespaceCreate).
type RemoteSpec struct {
	Name   string  `json:"name,omitempty"`
	Clock  string  `json:"clock,omitempty"`
	Seed   *uint64 `json:"seed,omitempty"`
	Config string  `json:"config,omitempty"`
}

// Remote is a namespace created on a running pspsim: its name and base URL.
type Remote struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// CreateRemote creates a namespace on the pspsim at target (its root URL),
// sending adminToken when set.
func CreateRemote(ctx context.Context, target, adminToken string, spec RemoteSpec) (Remote, error) {
	body, _ := json.Marshal(spec)
	var ns Remote
	b, status, err := controlCall(ctx, target, adminToken, http.MethodPost, "/_sim/namespaces", body)
	if err != nil {
		return ns, err
	}
	if status != http.StatusCreated {
		return ns, fmt.Errorf("%s: creating a namespace: %d %s", target, status, clip(b))
	}
	if err := json.Unmarshal(b, &ns); err != nil || ns.URL == "" {
		return ns, fmt.Errorf("%s: the namespace answer %s: %v", target, clip(b), err)
	}
	return ns, nil
}

// DeleteRemote deletes a namespace on the pspsim at target.
func DeleteRemote(ctx context.Context, target, adminToken, name string) error {
	b, status, err := controlCall(ctx, target, adminToken, http.MethodDelete, "/_sim/namespaces/"+url.PathEscape(name), nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("%s: deleting namespace %s: %d %s", target, name, status, clip(b))
	}
	return nil
}

func controlCall(ctx context.Context, target, adminToken, method, path string, body []byte) ([]byte, int, error) {
	c := &http.Client{Timeout: 30 * time.Second, Transport: control.Transport(nil, adminToken)}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(target, "/")+path, rd)
	if err != nil {
		return nil, 0, err
	}
	res, err := c.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", target, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return b, res.StatusCode, nil
}

func clip(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}
