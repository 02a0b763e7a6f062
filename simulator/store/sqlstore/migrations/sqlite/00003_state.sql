-- A namespace's own state besides its objects (store.State): whole
-- documents, versioned so that replicas reload one when it moves (the fault
-- rules in force, the canaries), and counters added to in the database (a
-- rule's matched and fired counts), so that frequencies hold across
-- replicas.
-- +goose Up
CREATE TABLE sim_state (
    namespace TEXT NOT NULL,
    name      TEXT NOT NULL,
    doc       BLOB NOT NULL,
    version   BIGINT NOT NULL,
    PRIMARY KEY (namespace, name)
);

CREATE TABLE sim_counters (
    namespace TEXT NOT NULL,
    name      TEXT NOT NULL,
    n         BIGINT NOT NULL,
    PRIMARY KEY (namespace, name)
);

-- +goose Down
DROP TABLE sim_counters;
DROP TABLE sim_state;
