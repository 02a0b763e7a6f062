package threeds

import (
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/store/storetest"
)

// TestAuthenticationEndedReadsOnlyItsFields holds authenticationEnded to
// its answer on the whole transaction when it is given only doneReads, as
// the store's eviction gives it (store.EvictableReading).
func TestAuthenticationEndedReadsOnlyItsFields(t *testing.T) {
	at := time.Unix(1.7e9, 0)
	for _, final := range []bool{false, true} {
		for _, status := range []string{StatusC, StatusD, "Y", "N", "U"} {
			tx := Transaction{
				Result: Result{ThreeDSServerTransID: "3ds-1", DSTransID: "ds-1", TransStatus: status, Final: final,
					CreatedAt: at, ExpiresAt: &at, CompletedAt: &at},
				CardFingerprint: "f", JournalIDs: IDs{{"tradeNo", "T1"}}, NotifyData: []byte("x"),
			}
			only := storetest.OnlyFields(tx, doneReads...)
			if got, want := authenticationEnded(&only, nil), authenticationEnded(&tx, nil); got != want || want != final {
				t.Errorf("final %v, status %s: %v on doneReads, %v on the transaction", final, status, got, want)
			}
		}
	}
}
