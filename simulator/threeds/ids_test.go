package threeds

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestIDsAreAJSONObjectInNameOrder(t *testing.T) {
	ids := idsOf(map[string]string{"tradeNo": "T1", "orderNo": "O1", "merchant_no": "M1"})
	want := IDs{{"merchant_no", "M1"}, {"orderNo", "O1"}, {"tradeNo", "T1"}}
	if !reflect.DeepEqual(ids, want) {
		t.Fatalf("idsOf = %v, want %v", ids, want)
	}
	b, err := json.Marshal(Transaction{JournalIDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	json.Unmarshal(b, &doc)
	if got := doc["journalIds"]; !reflect.DeepEqual(got, map[string]any{"merchant_no": "M1", "orderNo": "O1", "tradeNo": "T1"}) {
		t.Fatalf("journalIds = %#v in %s", got, b)
	}
	var back Transaction
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.JournalIDs, want) {
		t.Fatalf("decoded %v, want %v", back.JournalIDs, want)
	}
	// No ids: the field is left out, as the empty map was.
	b, _ = json.Marshal(Transaction{JournalIDs: idsOf(map[string]string{})})
	var empty map[string]any
	json.Unmarshal(b, &empty)
	if _, ok := empty["journalIds"]; ok {
		t.Fatalf("empty ids written: %s", b)
	}
	if err := json.Unmarshal([]byte(`{"journalIds":["x"]}`), &back); err == nil {
		t.Fatal("an array of journal ids was accepted")
	}
}

// TestJournalIDsMergeAsAMap: ids given as a map and as a list end as the
// map of both would (the list's last value of a name winning), in name
// order, and a sorted list of distinct names alone is taken as it is.
func TestJournalIDsMergeAsAMap(t *testing.T) {
	cases := []struct {
		m    map[string]string
		list IDs
		want IDs
	}{
		{nil, nil, nil},
		{map[string]string{"b": "1", "a": "2"}, nil, IDs{{"a", "2"}, {"b", "1"}}},
		{nil, IDs{{"orderNo", "O"}, {"tradeNo", "T"}}, IDs{{"orderNo", "O"}, {"tradeNo", "T"}}},
		{nil, IDs{{"tradeNo", "T"}, {"orderNo", "O"}}, IDs{{"orderNo", "O"}, {"tradeNo", "T"}}},
		{nil, IDs{{"a", "1"}, {"a", "2"}}, IDs{{"a", "2"}}},
		{map[string]string{"a": "1", "c": "3"}, IDs{{"b", "2"}, {"a", "9"}}, IDs{{"a", "9"}, {"b", "2"}, {"c", "3"}}},
	}
	for _, c := range cases {
		if got := journalIDs(c.m, c.list); !reflect.DeepEqual(got, c.want) {
			t.Errorf("journalIDs(%v, %v) = %v, want %v", c.m, c.list, got, c.want)
		}
	}
	sorted := IDs{{"orderNo", "O"}, {"tradeNo", "T"}}
	if got := journalIDs(nil, sorted); &got[0] != &sorted[0] {
		t.Error("a sorted list of distinct names was copied")
	}
}
