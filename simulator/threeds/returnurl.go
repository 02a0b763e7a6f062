package threeds

import (
	"net/url"
	"strings"
)

// returnURLValid reports whether a request's ReturnURL is an absolute
// http(s) URL with a host, or a path on this simulator. Every card payment
// asks it, always of a URL of the same plain shape (the PSP's base URL and
// a path of ids), which plainReturnURL accepts without url.Parse (an
// allocation or two and a few hundred nanoseconds); anything else is asked
// of url.Parse. TestPlainReturnURLIsParsedSo and FuzzPlainReturnURL hold
// plainReturnURL to accepting only what url.Parse accepts.
func returnURLValid(s string) bool {
	return plainReturnURL(s) || parsedReturnURL(s)
}

// parsedReturnURL is the rule itself, by url.Parse.
func parsedReturnURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && ((u.Scheme == "http" || u.Scheme == "https") && u.Host != "" ||
		u.Scheme == "" && u.Host == "" && strings.HasPrefix(u.Path, "/"))
}

// plainReturnURL accepts, without parsing, a URL of a shape url.Parse
// certainly reads as parsedReturnURL wants it: "http://" or "https://", a
// host name of letters, digits, '-' and '.', an optional port of digits,
// then nothing or a path of unreserved characters and '/'; or such a path
// alone, not starting with "//" (a host). false says nothing: ask
// url.Parse.
func plainReturnURL(s string) bool {
	rest, ok := strings.CutPrefix(s, "https://")
	if !ok {
		rest, ok = strings.CutPrefix(s, "http://")
	}
	if !ok {
		return len(s) > 0 && s[0] == '/' && !strings.HasPrefix(s, "//") && plainPath(s)
	}
	host, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		host, path = rest[:i], rest[i:]
	}
	name, port, _ := strings.Cut(host, ":")
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !alnum(c) && c != '-' && c != '.' {
			return false
		}
	}
	for i := 0; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' {
			return false
		}
	}
	return plainPath(path)
}

// plainPath reports whether p has only unreserved characters and '/'.
func plainPath(p string) bool {
	for i := 0; i < len(p); i++ {
		if c := p[i]; !alnum(c) && c != '-' && c != '.' && c != '_' && c != '~' && c != '/' {
			return false
		}
	}
	return true
}

func alnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }
