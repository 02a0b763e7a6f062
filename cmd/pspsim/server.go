package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/net/netutil"
	"gopkg.in/yaml.v3"

	"github.com/pspsim/pspsim/simulator/control"
)

// serverSettings are the protections of `pspsim serve`'s HTTP server, from
// the flags and the --config file's server section:
//
//	server:
//	  readHeaderTimeout: 10s   # a client has this long to send its headers
//	  readTimeout: 30s         # ... and its whole request, body included
//	  writeTimeout: 5m         # from the end of the headers to the end of the answer
//	  idleTimeout: 2m          # a keep-alive connection with no request is closed
//	  maxConnections: 4096     # connections served at once; more wait to be accepted
//	  allowedHosts: [sandbox.internal]   # Host names the control API answers to
//	  gcPercent: 400           # the garbage collector's target, as GOGC (collector.go)
//
// A slow client cannot hold a connection longer than these. What waits on
// purpose is exempt: the live event stream, fault holds and added latency,
// the processor that never answers (gate.Hold).
type serverSettings struct {
	ReadHeaderTimeout duration `yaml:"readHeaderTimeout"`
	ReadTimeout       duration `yaml:"readTimeout"`
	WriteTimeout      duration `yaml:"writeTimeout"`
	IdleTimeout       duration `yaml:"idleTimeout"`
	MaxConnections    int      `yaml:"maxConnections"`
	AllowedHosts      []string `yaml:"allowedHosts"`
	GCPercent         *int     `yaml:"gcPercent"`
}

// defaultServer holds a busy CI's traffic and cuts what no client needs:
// headers take milliseconds, the largest body (1 MiB) seconds; an answer
// may wait for an app (Genstore's request timeout, 10 s) or for a clock
// advance that replays long retry schedules against slow apps.
var defaultServer = serverSettings{
	ReadHeaderTimeout: duration(10 * time.Second),
	ReadTimeout:       duration(30 * time.Second),
	WriteTimeout:      duration(5 * time.Minute),
	IdleTimeout:       duration(2 * time.Minute),
	MaxConnections:    4096,
}

// duration is a time.Duration written "30s" in YAML.
type duration time.Duration

func (d *duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: %q is not a duration like 30s", n.Line, n.Value)
	}
	*d = duration(v)
	return nil
}

// serverFlags registers the server's flags on fs; apply, after parsing,
// lays what the flags set over the config file's settings.
func serverFlags(fs *flag.FlagSet) (apply func(config []byte) (serverSettings, error)) {
	d := defaultServer
	readHeader := fs.Duration("read-header-timeout", time.Duration(d.ReadHeaderTimeout), "longest a client may take to send a request's headers")
	read := fs.Duration("read-timeout", time.Duration(d.ReadTimeout), "longest a client may take to send a whole request, body included (a slow body is cut)")
	write := fs.Duration("write-timeout", time.Duration(d.WriteTimeout), "longest from the end of a request's headers to the end of its answer (the event stream and fault holds are exempt)")
	idle := fs.Duration("idle-timeout", time.Duration(d.IdleTimeout), "a keep-alive connection idle this long is closed")
	maxConns := fs.Int("max-connections", d.MaxConnections, "connections served at once; more wait to be accepted (0: no limit)")
	gcPercent := fs.Int("gc-percent", 100, "the garbage collector's target, as GOGC: the heap grows by this percentage of its live data before a collection (under the memory limit); higher spends memory to save CPU, -1 leaves collections to the memory limit alone; unless set, GOGC from the environment, else Go's default")
	hosts := fs.String("allowed-hosts", "", "comma-separated Host names the control API (/_sim) also answers to, besides loopback names and the listen and public addresses (name, name:port, or * for any)")
	return func(config []byte) (serverSettings, error) {
		s, err := serverSection(config)
		if err != nil {
			return s, err
		}
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for name, dst := range map[string]struct {
			v   time.Duration
			dst *duration
		}{"read-header-timeout": {*readHeader, &s.ReadHeaderTimeout}, "read-timeout": {*read, &s.ReadTimeout}, "write-timeout": {*write, &s.WriteTimeout}, "idle-timeout": {*idle, &s.IdleTimeout}} {
			if set[name] {
				*dst.dst = duration(dst.v)
			}
		}
		if set["max-connections"] {
			s.MaxConnections = *maxConns
		}
		if set["gc-percent"] {
			v := *gcPercent
			s.GCPercent = &v
		}
		for _, h := range strings.Split(*hosts, ",") {
			if h = strings.TrimSpace(h); h != "" {
				s.AllowedHosts = append(s.AllowedHosts, h)
			}
		}
		if s.MaxConnections < 0 {
			return s, errors.New("--max-connections must not be negative")
		}
		return s, nil
	}
}

// serverSection reads the server section of a --config file over the
// defaults. The simulator reads the other sections.
func serverSection(config []byte) (serverSettings, error) {
	s := defaultServer
	if len(config) == 0 {
		return s, nil
	}
	// A map of nodes: yaml.v3 leaves a *yaml.Node struct field empty, which
	// silently dropped the whole section.
	var doc map[string]yaml.Node
	if err := yaml.Unmarshal(config, &doc); err != nil || doc["server"].Kind == 0 {
		return s, nil // the simulator reports a malformed file
	}
	n := doc["server"]
	if err := n.Decode(&s); err != nil {
		return s, fmt.Errorf("config: server: %w", err)
	}
	return s, nil
}

// httpServer is the server of `pspsim serve` with these settings.
func (s serverSettings) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           liftReadDeadline(h),
		ReadHeaderTimeout: time.Duration(s.ReadHeaderTimeout),
		ReadTimeout:       time.Duration(s.ReadTimeout),
		WriteTimeout:      time.Duration(s.WriteTimeout),
		IdleTimeout:       time.Duration(s.IdleTimeout),
	}
}

// listener caps the connections served at once.
func (s serverSettings) listener(ln net.Listener) net.Listener {
	if s.MaxConnections > 0 {
		return netutil.LimitListener(ln, s.MaxConnections)
	}
	return ln
}

// liftReadDeadline ends the read timeout once the request has been read.
// net/http's ReadTimeout bounds the connection's reads from the start of the
// request; if it expires while a handler still works (a clock advance
// waiting on apps), the server's background read fails and cancels the
// request's context. The timeout is for reading the request, not handling
// it: a bodyless request is read when the handler starts, one with a body
// when the handler reads its end.
func liftReadDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lift := func() { http.NewResponseController(w).SetReadDeadline(time.Time{}) }
		if r.Body == nil || r.Body == http.NoBody {
			lift()
		} else {
			r.Body = &onEOF{ReadCloser: r.Body, f: lift}
		}
		next.ServeHTTP(w, r)
	})
}

type onEOF struct {
	io.ReadCloser
	f    func()
	done bool
}

func (b *onEOF) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.done {
		b.done = true
		b.f()
	}
	return n, err
}

// exposure says, for the startup log, who can reach the control API: a
// listener beyond loopback without an admin token lets anyone on the
// network who sends an allowed Host reset the sandbox and read its journal.
func exposure(addr string, s serverSettings, token string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	ip := net.ParseIP(host)
	local := host == "localhost" || ip != nil && ip.IsLoopback()
	if local || token != "" {
		return ""
	}
	any := ""
	for _, h := range s.AllowedHosts {
		if h == "*" {
			any = " any Host is allowed (--allowed-hosts *): DNS rebinding is not stopped either."
		}
	}
	return fmt.Sprintf("WARNING: pspsim listens on %s, beyond this machine, and its control API (/_sim: reset, clock, faults, journal) "+
		"has no admin token: anyone who reaches this port can drive the sandbox.%s Set --admin-token or %s "+
		"(the CLI, the Gherkin steps and the conformance runner send it), or publish the port on 127.0.0.1 only.", addr, any, control.EnvToken)
}
