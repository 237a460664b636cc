-- The council's roster: the council, its people and its groups with their members.
-- Times are Unix nanoseconds (UTC). Kinds and roles are the domain's words, so a person
-- reading the file with the sqlite3 shell understands it.

CREATE TABLE council (
    id          INTEGER PRIMARY KEY CHECK (id = 1), -- one council per database
    name        TEXT    NOT NULL,
    term        TEXT    NOT NULL,
    place       TEXT    NOT NULL,
    update_time INTEGER NOT NULL
) STRICT;

CREATE TABLE people (
    id               INTEGER PRIMARY KEY,
    full_name        TEXT    NOT NULL,
    title            TEXT    NOT NULL DEFAULT '',
    delegate         INTEGER NOT NULL CHECK (delegate IN (0, 1)),
    phone            TEXT    NOT NULL UNIQUE,
    zalo_name        TEXT    NOT NULL DEFAULT '',
    email            TEXT    NOT NULL DEFAULT '',
    signing_identity TEXT    NOT NULL DEFAULT '',
    active           INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    create_time      INTEGER NOT NULL,
    update_time      INTEGER NOT NULL
) STRICT;

CREATE UNIQUE INDEX people_signing_identity ON people (signing_identity) WHERE signing_identity <> '';

CREATE TABLE groups (
    id           INTEGER PRIMARY KEY,
    display_name TEXT    NOT NULL UNIQUE,
    kind         TEXT    NOT NULL CHECK (kind IN ('all_delegates', 'standing_committee', 'committee', 'delegate_group')),
    zalo_link    TEXT    NOT NULL DEFAULT '',
    create_time  INTEGER NOT NULL,
    update_time  INTEGER NOT NULL
) STRICT;

-- One all-delegates group and one Standing Committee group per roster.
CREATE UNIQUE INDEX groups_singleton_kind ON groups (kind) WHERE kind IN ('all_delegates', 'standing_committee');

CREATE TABLE group_members (
    group_id  INTEGER NOT NULL REFERENCES groups (id),
    person_id INTEGER NOT NULL REFERENCES people (id),
    role      TEXT    NOT NULL CHECK (role IN ('leader', 'member', 'staff')),
    PRIMARY KEY (group_id, person_id)
) STRICT;

-- At most one leader per group; the store also makes sure there is at least one.
CREATE UNIQUE INDEX group_members_one_leader ON group_members (group_id) WHERE role = 'leader';
CREATE INDEX group_members_person ON group_members (person_id);
