-- The journal of each namespace (package journal, Log): every event within
-- its retention, numbered per namespace in the order the batches commit
-- (the counter journal/seq in sim_counters, taken in the writing
-- transaction), so that a reader paging by seq never skips an event another
-- replica commits later. ids is the JSON object of the event's ids, for a
-- LIKE prefilter (the journal checks names and values exactly); body is the
-- rest of the event's JSON (ids, message, data), written out as it is.
-- +goose Up
CREATE TABLE events (
    namespace TEXT NOT NULL,
    seq       BIGINT NOT NULL,
    at        BIGINT NOT NULL, -- Unix ns on the namespace's clock
    system    TEXT NOT NULL,
    kind      TEXT NOT NULL,
    ids       TEXT NOT NULL,
    body      BLOB NOT NULL,
    PRIMARY KEY (namespace, seq)
);
CREATE INDEX events_system ON events (namespace, system, seq);
CREATE INDEX events_kind ON events (namespace, kind, seq);

-- +goose Down
DROP TABLE events;
