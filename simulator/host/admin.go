package host

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pspsim/pspsim/simulator"
	"github.com/pspsim/pspsim/simulator/admin"
	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/mountpath"
	"github.com/pspsim/pspsim/simulator/openapi"
)

// Info describes a namespace (admin.yaml Namespace).
type Info struct {
	Name       string         `json:"name"`
	URL        string         `json:"url"`
	Seed       uint64         `json:"seed"`
	Clock      ClockInfo      `json:"clock"`
	CreatedAt  time.Time      `json:"createdAt"`
	LastUsedAt time.Time      `json:"lastUsedAt"`
	ExpiresAt  *time.Time     `json:"expiresAt,omitempty"`
	Events     int            `json:"events"`
	Retention  map[string]any `json:"retention"`
}

// ClockInfo is a namespace's clock.
type ClockInfo struct {
	Mode string    `json:"mode"`
	Now  time.Time `json:"now"`
}

// Info describes the namespace name, or returns nil.
func (h *Host) Info(name string) *Info {
	var sp *space
	if name == simulator.DefaultNamespace {
		sp = h.def
	} else {
		h.mu.Lock()
		sp = h.spaces[name]
		h.mu.Unlock()
	}
	if sp == nil {
		return nil
	}
	<-sp.ready
	if sp.sim == nil {
		return nil
	}
	return h.info(sp)
}

func (h *Host) info(sp *space) *Info {
	s := sp.sim
	ret := s.Retention()
	r := map[string]any{"events": ret.Events, "objects": ret.Objects}
	if ret.Age > 0 {
		r["age"] = ret.Age.String()
	}
	in := &Info{Name: sp.name, URL: s.BaseURL(), Seed: s.Seed(), Clock: ClockInfo{Mode: s.Clock().Mode(), Now: s.Clock().Now().UTC()},
		CreatedAt: sp.created.UTC(), LastUsedAt: time.Unix(0, sp.used.Load()).UTC(), Events: s.Journal().Len(), Retention: r}
	if h.opts.Idle > 0 && sp != h.def {
		t := in.LastUsedAt.Add(h.opts.Idle)
		in.ExpiresAt = &t
	}
	return in
}

// List describes every namespace, the default one first.
func (h *Host) List() []*Info {
	out := []*Info{h.info(h.def)}
	for _, name := range h.Names() {
		if in := h.Info(name); in != nil {
			out = append(out, in)
		}
	}
	return out
}

func (h *Host) createHandler(w http.ResponseWriter, r *http.Request) error {
	var spec Spec
	if body := bytes.TrimSpace(openapi.FromContext(r.Context()).Body); len(body) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&spec); err != nil {
			return apierr.New(apierr.Malformed, "the body is not a namespace: %v", err)
		}
	}
	sp, aerr := h.create(r.Context(), spec, false, nil)
	if aerr != nil {
		return aerr
	}
	w.Header().Set("Location", mountpath.Join(r, admin.Prefix+"/namespaces/"+sp.name))
	admin.WriteJSON(w, http.StatusCreated, h.info(sp))
	return nil
}

func (h *Host) listHandler(w http.ResponseWriter, r *http.Request) error {
	h.adoptAll(r.Context())
	out := map[string]any{"namespaces": h.List(), "max": h.opts.Max, "auto": h.opts.Auto}
	if h.opts.Idle > 0 {
		out["idle"] = h.opts.Idle.String()
	}
	admin.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (h *Host) getHandler(w http.ResponseWriter, r *http.Request) error {
	name := openapi.FromContext(r.Context()).PathParams["name"]
	if h.opts.Registry != nil && name != simulator.DefaultNamespace {
		if _, aerr := h.lookup(r.Context(), name); aerr != nil {
			return aerr
		}
	}
	in := h.Info(name)
	if in == nil {
		return apierr.New(apierr.NotFound, "no namespace %q", name)
	}
	admin.WriteJSON(w, http.StatusOK, in)
	return nil
}

func (h *Host) deleteHandler(w http.ResponseWriter, r *http.Request) error {
	name := openapi.FromContext(r.Context()).PathParams["name"]
	if err := h.Delete(name); err != nil {
		return err
	}
	admin.WriteJSON(w, http.StatusOK, map[string]string{"deleted": name})
	return nil
}

// configSections lists the top-level keys of a config document.
func configSections(raw string) ([]string, error) {
	var doc map[string]yaml.Node
	if err := yaml.Unmarshal([]byte(raw), &doc); err != nil {
		return nil, fmt.Errorf("not YAML: %w", err)
	}
	out := make([]string, 0, len(doc))
	for k := range doc {
		out = append(out, k)
	}
	return out, nil
}
