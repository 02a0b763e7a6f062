package threeds

import (
	"encoding/json"
	"slices"
)

// IDs are the caller's journal ids an authentication keeps (orderNo,
// tradeNo, trans_no...): a few name/value pairs in name order. They were a
// map; a stored authentication is copied by the store on every read and
// update, and a map of two entries costs a few hundred bytes and an
// allocation of its own on each copy, where this slice costs one small
// allocation. In JSON they are an object, as the map was, so that stored
// documents read the same.
type IDs []IDPair

// IDPair is one journal id.
type IDPair struct {
	Name  string
	Value string
}

// idsOf returns m's entries in name order (nil for an empty map).
func idsOf(m map[string]string) IDs {
	if len(m) == 0 {
		return nil
	}
	ids := make(IDs, 0, len(m))
	for k, v := range m {
		ids = append(ids, IDPair{k, v})
	}
	slices.SortFunc(ids, func(a, b IDPair) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return ids
}

// MarshalJSON writes the ids as an object, names in order.
func (ids IDs) MarshalJSON() ([]byte, error) {
	m := make(map[string]string, len(ids))
	for _, p := range ids {
		m[p.Name] = p.Value
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads an object of strings.
func (ids *IDs) UnmarshalJSON(b []byte) error {
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*ids = idsOf(m)
	return nil
}
