-- Polls, their frozen electorates, every recorded choice, and the counts kept up to date
-- with each vote so that a tally costs what the poll's size costs.

CREATE TABLE polls (
    id                    INTEGER PRIMARY KEY,
    body_id               INTEGER NOT NULL REFERENCES groups (id),
    group_id              INTEGER NOT NULL REFERENCES groups (id),
    kind                  TEXT    NOT NULL CHECK (kind IN ('vote', 'opinion')),
    title                 TEXT    NOT NULL,
    question              TEXT    NOT NULL,
    description           TEXT    NOT NULL DEFAULT '',
    options               TEXT    NOT NULL, -- JSON array of the options' texts
    multiple_choice       INTEGER NOT NULL CHECK (multiple_choice IN (0, 1)),
    zalo_ref              TEXT    NOT NULL DEFAULT '',
    deadline              INTEGER NOT NULL,
    decision_rule         TEXT    NOT NULL,
    confirmation_deadline INTEGER NOT NULL DEFAULT 0,
    classification        TEXT    NOT NULL CHECK (classification = 'none'),
    state                 TEXT    NOT NULL CHECK (state IN ('open', 'closed', 'confirming', 'finalized', 'cancelled')),
    cancel_reason         TEXT    NOT NULL DEFAULT '',
    opened_by             TEXT    NOT NULL,
    electorate_hash       TEXT    NOT NULL,
    eligible              INTEGER NOT NULL,
    version               INTEGER NOT NULL DEFAULT 1, -- grows with every change of votes or state
    request_id            TEXT    NOT NULL DEFAULT '',
    create_time           INTEGER NOT NULL,
    close_time            INTEGER NOT NULL DEFAULT 0,
    update_time           INTEGER NOT NULL
) STRICT;

CREATE INDEX polls_group ON polls (group_id, id);
CREATE INDEX polls_open_deadline ON polls (deadline) WHERE state = 'open';
CREATE UNIQUE INDEX polls_request ON polls (request_id) WHERE request_id <> '';

-- The delegates who may vote, as they were when the poll opened.
CREATE TABLE poll_electorate (
    poll_id   INTEGER NOT NULL REFERENCES polls (id),
    person_id INTEGER NOT NULL REFERENCES people (id),
    full_name TEXT    NOT NULL,
    zalo_name TEXT    NOT NULL,
    phone     TEXT    NOT NULL,
    PRIMARY KEY (poll_id, person_id)
) STRICT, WITHOUT ROWID;

-- Every record of a choice; '[]' withdraws. Never updated or deleted.
CREATE TABLE votes (
    id          INTEGER PRIMARY KEY,
    poll_id     INTEGER NOT NULL,
    person_id   INTEGER NOT NULL,
    options     TEXT    NOT NULL, -- JSON array of option indices
    source      TEXT    NOT NULL CHECK (source IN ('zalo', 'other')),
    note        TEXT    NOT NULL DEFAULT '',
    recorded_by TEXT    NOT NULL,
    request_id  TEXT    NOT NULL DEFAULT '',
    record_time INTEGER NOT NULL,
    FOREIGN KEY (poll_id, person_id) REFERENCES poll_electorate (poll_id, person_id)
) STRICT;

CREATE INDEX votes_poll_person ON votes (poll_id, person_id, id);
CREATE UNIQUE INDEX votes_request ON votes (request_id) WHERE request_id <> '';

-- The current choice of each delegate who has one.
CREATE TABLE ballots (
    poll_id   INTEGER NOT NULL,
    person_id INTEGER NOT NULL,
    vote_id   INTEGER NOT NULL REFERENCES votes (id),
    options   TEXT    NOT NULL,
    PRIMARY KEY (poll_id, person_id),
    FOREIGN KEY (poll_id, person_id) REFERENCES poll_electorate (poll_id, person_id)
) STRICT, WITHOUT ROWID;

-- Per option, how many current ballots choose it.
CREATE TABLE poll_counts (
    poll_id INTEGER NOT NULL REFERENCES polls (id),
    option  INTEGER NOT NULL,
    count   INTEGER NOT NULL CHECK (count >= 0),
    PRIMARY KEY (poll_id, option)
) STRICT, WITHOUT ROWID;
