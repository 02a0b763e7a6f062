package mountpath_test

import (
	"net/http/httptest"
	"testing"

	"github.com/pspsim/pspsim/simulator/mountpath"
)

func TestJoinPutsTheMountPathInFront(t *testing.T) {
	for _, c := range []struct{ prefix, path, want string }{
		{"", "/vm/return/T1", "/vm/return/T1"},
		{"/ns/ci-1", "/vm/return/T1", "/ns/ci-1/vm/return/T1"},
		{"/ns/ci-1", "/_sim/faults/x", "/ns/ci-1/_sim/faults/x"},
	} {
		r := httptest.NewRequest("GET", "/vm/cashier/S", nil)
		if c.prefix != "" {
			r = mountpath.With(r, c.prefix)
		}
		if got := mountpath.Join(r, c.path); got != c.want || mountpath.Of(r) != c.prefix {
			t.Errorf("%q + %q = %q (Of %q), want %q", c.prefix, c.path, got, mountpath.Of(r), c.want)
		}
	}
}
