-- Roles and the groups that carry them, by name; `doc` is the JSON record. Users, groups and
-- clients name the roles and groups they hold inside their own documents.
CREATE TABLE directory_roles (
    name TEXT PRIMARY KEY NOT NULL,
    doc  TEXT NOT NULL
);

CREATE TABLE directory_groups (
    name TEXT PRIMARY KEY NOT NULL,
    doc  TEXT NOT NULL
);
