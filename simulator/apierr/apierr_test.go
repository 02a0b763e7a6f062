package apierr_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/pspsim/pspsim/simulator/apierr"
)

func TestFieldNamesTheFieldOnce(t *testing.T) {
	e := apierr.Field(apierr.Invalid, "orderNo", "minLength", "must be at least 5 characters")
	if e.Message != "orderNo: must be at least 5 characters" || e.Field != "orderNo" || e.Rule != "minLength" {
		t.Fatalf("%+v", e)
	}
	e = apierr.Field(apierr.Invalid, "amount", "decimals", "amount has 3 decimal places")
	if e.Message != "amount has 3 decimal places" {
		t.Fatalf("%q", e.Message)
	}
	if r := apierr.Required("pay.result"); r.Kind != apierr.Missing || r.Message != "pay.result: is required" {
		t.Fatalf("%+v", r)
	}
}

func TestWrapHidesCauses(t *testing.T) {
	cause := errors.New("db exploded at 0xdeadbeef")
	e := apierr.Wrap(fmt.Errorf("load: %w", cause))
	if e.Kind != apierr.Internal || e.Message != "internal error" || !errors.Is(e, cause) {
		t.Fatalf("%+v", e)
	}
	orig := apierr.New(apierr.NotFound, "order not found")
	if apierr.Wrap(fmt.Errorf("ctx: %w", orig)) != orig {
		t.Fatal("Wrap re-wrapped an *Error")
	}
	if apierr.Wrap(nil) != nil {
		t.Fatal("Wrap(nil) != nil")
	}
}

func TestHTTPStatus(t *testing.T) {
	want := map[apierr.Kind]int{
		apierr.Missing: 400, apierr.Invalid: 400, apierr.Unauthorized: 401, apierr.Forbidden: 403,
		apierr.NotFound: 404, apierr.MethodNotAllowed: 405, apierr.Conflict: 409,
		apierr.Unprocessable: 422, apierr.TooLarge: 413, apierr.Internal: http.StatusInternalServerError,
	}
	for k, s := range want {
		if got := apierr.HTTPStatus(k); got != s {
			t.Errorf("%s → %d, want %d", k, got, s)
		}
	}
}

// unanswered stands for the store's failure (store.Failed), which this
// package may not import.
type unanswered struct{ error }

func (unanswered) Unanswered() string { return "the store did not answer: retry" }

func TestWrapMakesUnansweredUnavailable(t *testing.T) {
	cause := unanswered{errors.New("dial tcp 10.0.0.7:5432: too many clients for postgres://u:secret@db")}
	for name, err := range map[string]error{
		"plain":    cause,
		"wrapped":  fmt.Errorf("shop 7301: %w", cause),
		"internal": &apierr.Error{Kind: apierr.Internal, Message: "internal error", Cause: fmt.Errorf("load: %w", cause)},
	} {
		e := apierr.Wrap(err)
		if e.Kind != apierr.Unavailable || e.Status != http.StatusServiceUnavailable || e.Message != "the store did not answer: retry" {
			t.Errorf("%s: %+v", name, e)
		}
		if !errors.Is(e, cause) {
			t.Errorf("%s: the cause is lost for the logs", name)
		}
	}
	// An answer stays what it was, even with a cause that did not answer.
	nf := &apierr.Error{Kind: apierr.NotFound, Message: "no shop", Cause: cause}
	if apierr.Wrap(nf) != nf {
		t.Error("Wrap changed a NotFound")
	}
	if apierr.Unavailability(errors.New("plain")) != nil || apierr.Unavailability(nil) != nil {
		t.Error("Unavailability of an error that is not Unanswered")
	}
}
