-- Secondary indexes of the tables (store.Index): Find reads the ids of one
-- key instead of every document of the kind. Kept by the store on Create
-- and Update, in the same transaction as the document.
-- +goose Up
CREATE TABLE index_entries (
    namespace TEXT NOT NULL,
    kind      TEXT NOT NULL,
    name      TEXT NOT NULL,
    key       TEXT NOT NULL,
    id        TEXT NOT NULL,
    PRIMARY KEY (namespace, kind, name, key, id)
);
CREATE INDEX index_entries_owner ON index_entries (namespace, kind, id);

-- Which indexes of a namespace hold every object: an index a table
-- declares later is built from the documents on its first use.
CREATE TABLE index_built (
    namespace TEXT NOT NULL,
    kind      TEXT NOT NULL,
    name      TEXT NOT NULL,
    PRIMARY KEY (namespace, kind, name)
);

-- +goose Down
DROP TABLE index_built;
DROP TABLE index_entries;
