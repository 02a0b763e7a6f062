-- Pending jobs (package jobs): what a system does later on its own — a
-- delivery's next attempt, a payment's expiry, a refund's settlement — as
-- rows, so that they survive a restart and, across replicas, run once.
-- due is Unix nanoseconds on the namespace's clock (simulated or real);
-- lease_until is Unix nanoseconds on the wall clock, because a lease says
-- whether the owning process is alive. version moves on every write: a
-- replica claims a row by compare-and-swap on it. running marks a claimed
-- row (or one kept by work in flight), which only a lease's expiry hands on.
-- +goose Up
CREATE TABLE jobs (
    namespace   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    job_key     TEXT NOT NULL,
    due         BIGINT NOT NULL,
    payload     BLOB,
    owner       TEXT NOT NULL,
    lease_until BIGINT NOT NULL,
    version     BIGINT NOT NULL,
    running     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (namespace, kind, job_key)
);

CREATE INDEX jobs_due ON jobs (namespace, due);
CREATE INDEX jobs_lease ON jobs (namespace, lease_until);

-- +goose Down
DROP TABLE jobs;
