-- The trail vouches for the state as well as for itself: each event that changes a target
-- carries a digest of what the target holds afterwards (version 2 of the event encoding),
-- and a poll's events a running digest of its votes rows. Events written before keep
-- version 1 and still verify. Repeated denials are counted outside the chain and folded
-- into one event per run.

ALTER TABLE audit_events ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE audit_events ADD COLUMN state BLOB NOT NULL DEFAULT x''; -- SHA-256 of the target's state after the event
ALTER TABLE audit_events ADD COLUMN votes_through INTEGER NOT NULL DEFAULT 0; -- polls: the newest votes row covered
ALTER TABLE audit_events ADD COLUMN votes_digest BLOB NOT NULL DEFAULT x''; -- polls: running SHA-256 of its votes rows

-- The newest event that vouches for a target's state, found without reading its denials.
CREATE INDEX audit_events_state ON audit_events (target, seq) WHERE length(state) > 0;

-- A poll's votes rows in id order, from a given row on: the next event folds only the
-- rows recorded since the one before.
CREATE INDEX votes_poll_id ON votes (poll_id, id);

-- Runs of identical denials (same caller, credential, action, target and reason). The
-- first denial of a run is appended to the trail at once; the repeats are only counted
-- here, and folded into one event when the run's window closes (or at Close). Rows are
-- committed with each denial, so a crash loses no count; but until folded, a count is not
-- protected by the chain. A caller's denials beyond its limit of open runs are counted in
-- one overflow run, whose action, target and reason are empty and first_seq 0.
CREATE TABLE audit_denials (
    actor      TEXT    NOT NULL,
    credential TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    target     TEXT    NOT NULL,
    reason     TEXT    NOT NULL,
    first_seq  INTEGER NOT NULL, -- the run's first denial in the trail; 0 for an overflow run
    repeats    INTEGER NOT NULL, -- denials counted here and not yet in the trail
    from_time  INTEGER NOT NULL, -- the first of them
    to_time    INTEGER NOT NULL, -- the last of them
    request_id TEXT    NOT NULL, -- the last one's
    latest     TEXT    NOT NULL, -- overflow runs: the last denial, for people to read
    fold_time  INTEGER NOT NULL, -- when the run ends and is folded into the trail
    PRIMARY KEY (actor, credential, action, target, reason)
) STRICT;

CREATE INDEX audit_denials_fold ON audit_denials (fold_time, first_seq);
