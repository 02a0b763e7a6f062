// Package specs embeds the OpenAPI 3.0 documents that define every HTTP
// operation pspsim serves. The specs are the route table: the server is built
// from them (see simulator/openapi), so an operation exists here first.
//
// Each document's `servers` entry is its mount path (/genstore, /codepay, /vm,
// /_sim); the loader rewrites it anyway so that a copied spec with an absolute
// host still routes on 127.0.0.1.
package specs

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:generate go run ./gen

//go:embed *.yaml json/*.json
var files embed.FS

// FS returns the embedded spec files (read-only).
func FS() fs.FS { return files }

// Names lists the embedded spec files, sorted.
func Names() []string {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".yaml") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

// Read returns the raw YAML of one spec, e.g. Read("codepay.yaml").
func Read(name string) ([]byte, error) {
	b, err := files.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("spec %q: %w", name, err)
	}
	return b, nil
}

// JSONTwin returns the path of a spec's generated JSON twin inside FS(), e.g.
// "json/codepay.json" for "codepay.yaml".
func JSONTwin(name string) string {
	return "json/" + strings.TrimSuffix(name, ".yaml") + ".json"
}
