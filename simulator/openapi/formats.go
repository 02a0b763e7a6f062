package openapi

import (
	"errors"
	"net/mail"
	"net/url"
	"regexp"

	"github.com/getkin/kin-openapi/openapi3"
)

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// Formats returns the string format validators pspsim checks beyond
// kin-openapi's defaults (byte, date, date-time). They are passed per
// validation (WithStringFormatValidators), so no package-level state changes.
func Formats() map[string]openapi3.StringFormatValidator {
	return map[string]openapi3.StringFormatValidator{
		"uuid": openapi3.NewCallbackValidator(func(s string) error {
			if !uuidRE.MatchString(s) {
				return errors.New("must be a UUID like 123e4567-e89b-12d3-a456-426614174000")
			}
			return nil
		}),
		"email": openapi3.NewCallbackValidator(func(s string) error {
			a, err := mail.ParseAddress(s)
			if err != nil || a.Address != s {
				return errors.New("must be an e-mail address like name@example.com")
			}
			return nil
		}),
		"uri": openapi3.NewCallbackValidator(func(s string) error {
			u, err := url.Parse(s)
			if err != nil || u.Scheme == "" || (u.Host == "" && u.Opaque == "") {
				return errors.New("must be an absolute URI like https://example.com/path")
			}
			return nil
		}),
	}
}
