-- The documents of every namespace: one row per object, addressed by
-- (namespace, kind, id); seq gives the creation order List follows.
-- +goose Up
CREATE TABLE objects (
    seq       BIGSERIAL PRIMARY KEY,
    namespace TEXT   NOT NULL,
    kind      TEXT   NOT NULL,
    id        TEXT   NOT NULL,
    created   BIGINT NOT NULL, -- Unix ns on the namespace's clock, for retention by age
    doc       BYTEA  NOT NULL, -- the JSON document, byte for byte
    UNIQUE (namespace, kind, id)
);
CREATE INDEX objects_order ON objects (namespace, kind, seq);

-- Unique keys ("merchant/302300000926/order/A1"): claimed by one object of
-- a kind in a namespace.
CREATE TABLE unique_keys (
    namespace TEXT NOT NULL,
    kind      TEXT NOT NULL,
    key       TEXT NOT NULL,
    id        TEXT NOT NULL,
    PRIMARY KEY (namespace, kind, key)
);
CREATE INDEX unique_keys_owner ON unique_keys (namespace, kind, id);

-- +goose Down
DROP TABLE unique_keys;
DROP TABLE objects;
