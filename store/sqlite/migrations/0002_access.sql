-- Bearer tokens and the hash-chained audit trail.

CREATE TABLE tokens (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    role        TEXT    NOT NULL CHECK (role IN ('admin', 'secretariat', 'person')),
    person_id   INTEGER REFERENCES people (id),
    hash        BLOB    NOT NULL UNIQUE, -- SHA-256 of the secret; the secret is never stored
    created_by  TEXT    NOT NULL,
    create_time INTEGER NOT NULL,
    expire_time INTEGER NOT NULL,
    revoke_time INTEGER NOT NULL DEFAULT 0, -- 0 while not revoked
    CHECK ((role = 'person') = (person_id IS NOT NULL))
) STRICT;

-- Events are appended with seq = head + 1 and never updated; VerifyAuditLog recomputes
-- the chain. seq is assigned by the store, not by SQLite, so a deleted row leaves a gap.
CREATE TABLE audit_events (
    seq        INTEGER PRIMARY KEY,
    time       INTEGER NOT NULL,
    actor      TEXT    NOT NULL,
    credential TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    outcome    TEXT    NOT NULL,
    target     TEXT    NOT NULL,
    request_id TEXT    NOT NULL,
    summary    TEXT    NOT NULL,
    prev_hash  BLOB    NOT NULL,
    hash       BLOB    NOT NULL
) STRICT;

CREATE INDEX audit_events_target ON audit_events (target, seq);
CREATE INDEX audit_events_actor ON audit_events (actor, seq);
CREATE INDEX audit_events_time ON audit_events (time);

-- The newest event, written with it: removing events from the end of the trail leaves a
-- chain that is whole but shorter than the head says.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash BLOB    NOT NULL
) STRICT;
