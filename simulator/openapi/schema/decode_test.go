package schema

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// The request-shaped types Decode is held to encoding/json with.
type (
	decCard struct {
		Number string `json:"cardNo"`
		Month  string `json:"expiryMonth,omitempty"`
	}
	decLine struct {
		Name  string  `json:"name"`
		Qty   int     `json:"qty"`
		Price float64 `json:"price"`
	}
	decName string
	decBody struct {
		OrderNo  string    `json:"orderNo"`
		Amount   string    `json:"amount"`
		Card     *decCard  `json:"card"`
		Lines    []decLine `json:"lines"`
		Tags     []string  `json:"tags"`
		Live     bool      `json:"live"`
		Count    int8      `json:"count"`
		Big      uint16    `json:"big"`
		Ratio    float32   `json:"ratio"`
		Note     *string   `json:"note"`
		Kind     decName   `json:"kind"`
		Untagged string
		Skipped  string                `json:"-"`
		Dash     string                `json:"-,"`
		Nested   struct{ A, B string } `json:"nested"`
		Self     *decBody              `json:"self"`
		hidden   string
	}
	decWithMap struct {
		M map[string]string `json:"m"`
	}
	decWithTime struct {
		T time.Time `json:"t"`
	}
	decWithNumber struct {
		N json.Number `json:"n"`
	}
	decWithAny struct {
		A any `json:"a"`
	}
	decWithStringOpt struct {
		N int `json:"n,string"`
	}
)

// decodeBoth decodes src into fresh values with Decode (falling back to
// json.Unmarshal when it declines) and with json.Unmarshal, and fails when
// they differ. It returns whether Decode took it.
func decodeBoth[T any](t *testing.T, src string, start func() T) bool {
	t.Helper()
	var d Doc
	if err := d.Parse([]byte(src)); err != nil {
		return false // not a body the validator lets through
	}
	got, want := start(), start()
	took := d.Decode(&got)
	if !took {
		if !reflect.DeepEqual(got, start()) {
			t.Fatalf("Decode(%s) declined but wrote %+v", src, got)
		}
		return false
	}
	err := json.Unmarshal([]byte(src), &want)
	if err != nil {
		t.Fatalf("Decode(%s) took a body json.Unmarshal refuses: %v", src, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Decode(%s):\n got %+v\nwant %+v", src, got, want)
	}
	return true
}

func TestDecodeMatchesUnmarshal(t *testing.T) {
	note := "old"
	cases := []struct {
		src  string
		take bool // Decode must take it (not fall back)
	}{
		{`{"orderNo":"A1","amount":"19.99","card":{"cardNo":"4000123456000019","expiryMonth":"12"},"live":true}`, true},
		{`{"lines":[{"name":"x","qty":2,"price":1.5},{"name":"y","qty":-3,"price":1e2}],"tags":["a","b"],"tags2":[1,{}]}`, true},
		{`{"orderNo":"\u00e9\n\"q\"","note":"n","kind":"k","Untagged":"u","-":"dash"}`, true},
		{`{"Skipped":"no","hidden":"no","unknown":{"deep":[1,2,{"x":null}]}}`, true},
		{`{"card":null,"lines":null,"tags":[],"note":null,"orderNo":null,"live":null}`, true},
		{`{"nested":{"A":"a","B":"b"},"self":{"orderNo":"inner","self":{"amount":"1"}}}`, true},
		{`{"count":127,"big":65535,"ratio":3.25}`, true},
		{`{"surrogate":"\ud83d\ude00","orderNo":"\ud83d\ude00"}`, true},
		{`null`, true},
		{`{}`, true},
		// declined: encoding/json's rules Decode does not model, or its errors
		{`{"orderno":"case-folded"}`, false},
		{`{"ORDERNO":"case-folded"}`, false},
		{`{"untagged":"case-folded"}`, false},
		{`{"orderNo":"a","orderNo":"twice"}`, false},
		{`{"card":{"cardNo":"1"},"card":{"expiryMonth":"2"}}`, false},
		{`{"ord\u0065rNo":"escaped key"}`, false},
		{`{"orderNſ":"non-ASCII key"}`, false},
		{`{"orderNo":5}`, false},
		{`{"live":"true"}`, false},
		{`{"count":128}`, false},
		{`{"count":1.0}`, false},
		{`{"big":-1}`, false},
		{`{"ratio":1e39}`, false},
		{`{"card":"x"}`, false},
		{`{"lines":{}}`, false},
		{`{"lines":[{"qty":"2"}]}`, false},
		{`[]`, false},
		{`"text"`, false},
	}
	for _, c := range cases {
		t.Run(c.src, func(t *testing.T) {
			if took := decodeBoth(t, c.src, func() decBody { return decBody{} }); took != c.take {
				t.Fatalf("Decode took it: %v, want %v", took, c.take)
			}
			// Into values holding data already: encoding/json keeps what
			// the body does not name and reuses pointers.
			decodeBoth(t, c.src, func() decBody {
				return decBody{OrderNo: "keep", Card: &decCard{Month: "01"}, Note: &note, Self: &decBody{Amount: "9"}}
			})
		})
	}
}

// TestFillIsTwoPasses holds the one pass Decode takes into a zero value to
// the two passes it takes into one holding data: the same value, the same
// decline, and a decline leaves the value zero.
func TestFillIsTwoPasses(t *testing.T) {
	for _, src := range []string{
		`{"orderNo":"A1","amount":"19.99","card":{"cardNo":"4000123456000019","expiryMonth":"12"},"live":true}`,
		`{"lines":[{"name":"x","qty":2,"price":1.5},{"name":"y","qty":-3,"price":1e2}],"tags":["a","b"]}`,
		`{"card":null,"lines":null,"tags":[],"note":null,"orderNo":null,"live":null,"self":{"note":"n"}}`,
		`{"tags":[null,"x"],"lines":[null,{}],"nested":{"A":"a"},"Untagged":"u","unknown":[{"x":1}]}`,
		`{"self":{"self":{"orderNo":"deep"}}}`,
		`null`,
		`{"card":{"cardNo":"1"},"card":{"expiryMonth":"2"}}`,
		`{"orderNo":"a","card":{"cardNo":5}}`,
		`{"self":{"lines":[{"qty":1},{"qty":1.5}]}}`,
		`{"tags":["a",{}]}`,
		`{"note":"n","orderno":"case-folded"}`,
		`{"count":128}`,
		`[]`,
	} {
		t.Run(src, func(t *testing.T) {
			var d Doc
			if err := d.Parse([]byte(src)); err != nil {
				t.Fatal(err)
			}
			var one, two decBody
			tookOne := d.Decode(&one)
			tookTwo := d.twoPasses(planOf(reflect.TypeFor[decBody]()), reflect.ValueOf(&two).Elem())
			if tookOne != tookTwo || !reflect.DeepEqual(one, two) {
				t.Fatalf("one pass %v %+v, two passes %v %+v", tookOne, one, tookTwo, two)
			}
			if !tookOne && !reflect.DeepEqual(one, decBody{}) {
				t.Fatalf("declined but left %+v", one)
			}
		})
	}
}

func TestDecodeDeclinesWhatItDoesNotModel(t *testing.T) {
	cases := []struct {
		name, src string
		v         any
	}{
		{"map", `{"m":{"a":"b"}}`, &decWithMap{}},
		{"unmarshaler", `{"t":"2024-01-01T00:00:00Z"}`, &decWithTime{}},
		{"json.Number", `{"n":"12"}`, &decWithNumber{}},
		{"interface", `{"a":1}`, &decWithAny{}},
		{",string", `{"n":"1"}`, &decWithStringOpt{}},
		{"a slice with capacity", `{"tags":["x"]}`, &decBody{Tags: make([]string, 0, 4)}},
		{"not a pointer", `{}`, decBody{}},
		{"nil pointer", `{}`, (*decBody)(nil)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var d Doc
			if err := d.Parse([]byte(c.src)); err != nil {
				t.Fatal(err)
			}
			if d.Decode(c.v) {
				t.Fatalf("Decode took %s into %T", c.src, c.v)
			}
		})
	}
}

// FuzzDecodeMatchesUnmarshal: for every body the parser accepts, Decode
// either declines without writing or gives json.Unmarshal's value.
func FuzzDecodeMatchesUnmarshal(f *testing.F) {
	for _, s := range []string{
		`{"orderNo":"A1","amount":"19.99","card":{"cardNo":"4000123456000019","expiryMonth":"12"},"live":true}`,
		`{"lines":[{"name":"x","qty":2,"price":1.5}],"tags":["a"],"count":-5,"big":7,"ratio":0.5e1}`,
		`{"note":null,"self":{"self":{"orderNo":"\u00e9"}},"Untagged":"u","nested":{"A":"a"}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		decodeBoth(t, src, func() decBody { return decBody{} })
		decodeBoth(t, src, func() decBody { return decBody{Card: &decCard{Month: "01"}, Lines: []decLine{}} })
	})
}

func BenchmarkDecode(b *testing.B) {
	src := []byte(`{"orderNo":"A1","amount":"19.99","card":{"cardNo":"4000123456000019","expiryMonth":"12"},"live":true,"lines":[{"name":"x","qty":2,"price":1.5}],"tags":["a","b"]}`)
	var d Doc
	if err := d.Parse(src); err != nil {
		b.Fatal(err)
	}
	b.Run("Decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v decBody
			if !d.Decode(&v) {
				b.Fatal("declined")
			}
		}
	})
	b.Run("DecodeIntoData", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			v := decBody{Skipped: "x"} // not zero: the two passes
			if !d.Decode(&v) {
				b.Fatal("declined")
			}
		}
	})
	b.Run("Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v decBody
			if err := json.Unmarshal(src, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
