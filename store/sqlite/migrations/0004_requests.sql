-- Request ids of retryable writes (AIP-155), whatever the method: a retry is the same
-- request (fingerprint) from the same caller (actor) and gets the first call's result; any
-- other use of the id is refused.

CREATE TABLE requests (
    request_id  TEXT    PRIMARY KEY,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL, -- the method, e.g. RecordVote
    fingerprint TEXT    NOT NULL, -- hex SHA-256 of the request without its id; '' before 0004
    result      TEXT    NOT NULL, -- what the first call made, in the method's own terms
    create_time INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Ids used before this table existed stay taken; with no fingerprint, a reuse of one is
-- refused rather than guessed to be a retry.
INSERT INTO requests (request_id, actor, action, fingerprint, result, create_time)
    SELECT request_id, opened_by, 'CreatePoll', '', 'polls/' || id, create_time FROM polls WHERE request_id <> '';
INSERT INTO requests (request_id, actor, action, fingerprint, result, create_time)
    SELECT request_id, recorded_by, 'RecordVote', '', CAST(id AS TEXT), record_time FROM votes WHERE request_id <> '';
