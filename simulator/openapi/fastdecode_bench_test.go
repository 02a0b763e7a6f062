package openapi

import (
	"context"
	"encoding/json"
	"io/fs"
	"net/url"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/pspsim/pspsim/specs"
)

// BenchmarkLoadSpec loads the embedded specs both ways in one run: Kin is
// kin-openapi's loader on the JSON twin (the start before decodeSpec), Fast
// is Load's path; Decode* time the decoding alone.
func BenchmarkLoadSpec(b *testing.B) {
	ctx := context.Background()
	raws := map[string][]byte{}
	for _, name := range specs.Names() {
		raw, err := fs.ReadFile(specs.FS(), specs.JSONTwin(name))
		if err != nil {
			b.Fatal(err)
		}
		raws[name] = raw
	}
	b.Run("Kin", func(b *testing.B) {
		for b.Loop() {
			for name, raw := range raws {
				if _, err := specLoader(ctx, specs.FS(), name).LoadFromDataWithPath(raw, &url.URL{Path: name}); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("Fast", func(b *testing.B) {
		for b.Loop() {
			for name, raw := range raws {
				if _, err := loadTwin(specLoader(ctx, specs.FS(), name), raw, &url.URL{Path: name}); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("DecodeKin", func(b *testing.B) {
		for b.Loop() {
			for _, raw := range raws {
				var doc openapi3.T
				if err := json.Unmarshal(raw, &doc); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("DecodeFast", func(b *testing.B) {
		for b.Loop() {
			for _, raw := range raws {
				if _, err := decodeSpec(raw); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
