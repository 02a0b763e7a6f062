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
