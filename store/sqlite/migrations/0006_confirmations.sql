-- The written confirmations of Điều 7.2: one per delegate with a current choice in a poll
-- whose confirmations were issued, with the exact bytes of the document issued. A row is
-- never deleted; its status changes as the signed copy comes back (issue 6/7).

CREATE TABLE confirmations (
    id         INTEGER PRIMARY KEY,
    poll_id    INTEGER NOT NULL REFERENCES polls (id),
    person_id  INTEGER NOT NULL,
    vote_id    INTEGER NOT NULL REFERENCES votes (id), -- the record the choice came from
    options    TEXT    NOT NULL, -- JSON array of the confirmed option indices, ascending
    issue_time INTEGER NOT NULL,
    deadline   INTEGER NOT NULL, -- the confirmation deadline
    status     TEXT    NOT NULL CHECK (status IN ('awaiting_signature', 'signed', 'mismatch', 'rejected', 'declined', 'overdue')),
    sha256     TEXT    NOT NULL, -- hex SHA-256 of document
    size       INTEGER NOT NULL, -- bytes of document
    document   BLOB    NOT NULL, -- exactly as issued
    UNIQUE (poll_id, person_id),
    FOREIGN KEY (poll_id, person_id) REFERENCES poll_electorate (poll_id, person_id)
) STRICT;
