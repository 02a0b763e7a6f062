package vmgateway

import (
	"fmt"
	"net/http"
	"time"

	"github.com/pspsim/pspsim/simulator/admin"
	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/openapi"
)

// Sink is a webhook receiver inside pspsim (admin API): a URL that records
// what it receives and answers a chosen status, so a developer or a Gherkin
// scenario can watch deliveries and retries without a server of their own.
type Sink struct {
	SinkID   string         `json:"sinkId"`
	Status   int            `json:"status"`
	Received []SinkDelivery `json:"received"`
}

// SinkDelivery is one request a sink received.
type SinkDelivery struct {
	At        string `json:"at"`
	EventID   string `json:"eventId"`
	Timestamp string `json:"timestamp"`
	Signature string `json:"signature"`
	Body      string `json:"body"`
	Answered  int    `json:"answered"`
}

// sinkView answers the admin API.
func (s *System) sinkView(k Sink) map[string]any {
	rec := k.Received
	if rec == nil {
		rec = []SinkDelivery{}
	}
	return map[string]any{"sinkId": k.SinkID, "url": s.env.BaseURL() + "/_sim/vmgateway/webhook-sinks/" + k.SinkID + "/deliveries", "status": k.Status, "received": rec}
}

// errNoSink answers a sinkId that names no sink.
func errNoSink() *apierr.Error {
	return apierr.Field(apierr.NotFound, "sinkId", "exists", "no webhook sink with this id")
}

// adminCreateSink opens a sink answering status (200 when absent).
func (s *System) adminCreateSink(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Status int `json:"status"`
	}
	if err := adminDecode(r, &in); err != nil {
		return err
	}
	if in.Status == 0 {
		in.Status = http.StatusOK
	}
	k, err := s.sinks.CreateNew(r.Context(), func(int) string { return "sink_" + s.env.IDs.Hex(6) },
		func(id string) Sink { return Sink{SinkID: id, Status: in.Status} })
	if err != nil {
		return fmt.Errorf("store sink: %w", err)
	}
	admin.WriteJSON(w, http.StatusOK, s.sinkView(k))
	return nil
}

func (s *System) adminGetSink(w http.ResponseWriter, r *http.Request) error {
	k, err := s.sinks.Get(r.Context(), pathParam(r, "sinkId"))
	if e := unanswered(err); e != nil {
		return e
	}
	if err != nil {
		return errNoSink()
	}
	admin.WriteJSON(w, http.StatusOK, s.sinkView(k))
	return nil
}

// adminUpdateSink changes the status a sink answers.
func (s *System) adminUpdateSink(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Status int `json:"status"`
	}
	if err := adminDecode(r, &in); err != nil {
		return err
	}
	k, err := s.sinks.Update(r.Context(), pathParam(r, "sinkId"), func(k *Sink) error { k.Status = in.Status; return nil })
	if e := unanswered(err); e != nil {
		return e
	}
	if err != nil {
		return errNoSink()
	}
	admin.WriteJSON(w, http.StatusOK, s.sinkView(k))
	return nil
}

// adminSinkReceive is the sink's URL: it records the delivery and answers
// the sink's status.
func (s *System) adminSinkReceive(w http.ResponseWriter, r *http.Request) error {
	req := openapi.FromContext(r.Context())
	var answered int
	_, err := s.sinks.Update(r.Context(), req.PathParams["sinkId"], func(k *Sink) error {
		answered = k.Status
		k.Received = append(k.Received, SinkDelivery{
			At: s.now().UTC().Format(time.RFC3339Nano), EventID: r.Header.Get(HeaderEventID), Timestamp: r.Header.Get(HeaderTimestamp),
			Signature: r.Header.Get(HeaderSignature), Body: string(req.Signed()), Answered: k.Status,
		})
		return nil
	})
	if err != nil {
		return errNoSink()
	}
	admin.WriteJSON(w, answered, map[string]any{"received": true, "status": answered})
	return nil
}
