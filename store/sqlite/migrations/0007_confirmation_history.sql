-- What comes back for a confirmation (issue 6/7): its history, one row per step, and the
-- files that came back. Rows are only ever added; a confirmation's status in
-- confirmations.status is the newest step's to_status, and the rest of what it shows (the
-- written choice, a rejection's reason, a resolution) is read from its steps. A re-issue
-- replaces the confirmation's document, options and issue time in its row and keeps the
-- document it supersedes here, as a file of kind 'issued'.

CREATE TABLE confirmation_files (
    id                 INTEGER PRIMARY KEY,
    confirmation_id    INTEGER NOT NULL REFERENCES confirmations (id),
    kind               TEXT    NOT NULL CHECK (kind IN ('signed_pdf', 'scan', 'issued')), -- issued: a document a re-issue superseded
    media_type         TEXT    NOT NULL,
    sha256             TEXT    NOT NULL, -- hex SHA-256 of the file as received
    size               INTEGER NOT NULL,
    content            BLOB,             -- NULL for a rejected file: only its digest is kept
    signer_subject     TEXT    NOT NULL DEFAULT '',
    signer_issuer      TEXT    NOT NULL DEFAULT '',
    signer_serial      TEXT    NOT NULL DEFAULT '',
    signer_fingerprint TEXT    NOT NULL DEFAULT '',
    signing_time       INTEGER NOT NULL DEFAULT 0, -- as the signature claims; 0 for none
    receive_time       INTEGER NOT NULL,
    received_by        TEXT    NOT NULL
) STRICT;

CREATE TABLE confirmation_events (
    id              INTEGER PRIMARY KEY,
    confirmation_id INTEGER NOT NULL REFERENCES confirmations (id),
    time            INTEGER NOT NULL,
    actor           TEXT    NOT NULL,
    action          TEXT    NOT NULL CHECK (action IN ('signed', 'paper', 'rejected', 'declined', 'overdue', 'resolved', 'reissued')),
    from_status     TEXT    NOT NULL,
    to_status       TEXT    NOT NULL,
    written         TEXT,             -- JSON array of the written choice, or NULL
    reason          TEXT    NOT NULL DEFAULT '',
    detail          TEXT    NOT NULL DEFAULT '',
    late            INTEGER NOT NULL DEFAULT 0 CHECK (late IN (0, 1)),
    file_id         INTEGER REFERENCES confirmation_files (id)
) STRICT;

CREATE INDEX confirmation_events_by_confirmation ON confirmation_events (confirmation_id, id);
CREATE INDEX confirmation_files_by_confirmation ON confirmation_files (confirmation_id, id);
-- A file that names no confirmation is found by the digest of its issued revision.
CREATE INDEX confirmations_by_sha256 ON confirmations (sha256);
