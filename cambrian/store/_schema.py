"""The run database's schema. The database *is* the checkpoint."""

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS programs (
    id                INTEGER PRIMARY KEY,
    status            TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    files             TEXT NOT NULL,            -- JSON {relative path: text}
    code_hash         TEXT NOT NULL,
    parent_id         INTEGER REFERENCES programs(id),
    inspiration_ids   TEXT NOT NULL DEFAULT '[]',
    operator          TEXT NOT NULL,
    model             TEXT,
    island            INTEGER NOT NULL,
    generation        INTEGER NOT NULL,
    sample            INTEGER UNIQUE,           -- proposal index; NULL for the seed
    edit_format       TEXT,
    fuzz              TEXT,                     -- JSON list, one entry per applied edit block
    change            TEXT,                     -- short human summary of the edit
    reply             TEXT,                     -- the model's raw reply, when there was one
    score             REAL,
    correct           INTEGER,
    metrics           TEXT,                     -- JSON {name: number}
    feedback          TEXT,
    artifacts         TEXT,                     -- JSON {name: text}
    failure           TEXT,                     -- FailureKind when status = 'failed'
    error             TEXT,
    stdout            TEXT,
    stderr            TEXT,
    attempts          INTEGER NOT NULL DEFAULT 0,
    lease_owner       TEXT,
    lease_expires     REAL,
    created_at        REAL NOT NULL,
    started_at        REAL,
    finished_at       REAL,
    finish_seq        INTEGER UNIQUE,           -- order in which results were committed
    eval_time         REAL,
    propose_time      REAL,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cost              REAL NOT NULL DEFAULT 0
);

-- Model calls that made no candidate (memory distillation, prompt mutation): their
-- tokens and cost count toward the run's totals and budgets like proposals do.
CREATE TABLE IF NOT EXISTS spend (
    id                INTEGER PRIMARY KEY,
    at                REAL NOT NULL,
    purpose           TEXT NOT NULL,
    model             TEXT,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cost              REAL NOT NULL DEFAULT 0
);

-- Which memory records (insights, skills, prompt variants) each candidate's prompt
-- showed; settled once the candidate's outcome has updated their utility.
CREATE TABLE IF NOT EXISTS memory_seen (
    program_id INTEGER NOT NULL REFERENCES programs(id),
    record_id  TEXT NOT NULL,
    settled    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (program_id, record_id)
);

-- What memory added to each proposal's prompt, by sample: provenance, and what a
-- replay of this run puts back into its prompts so they match the recording.
CREATE TABLE IF NOT EXISTS advice (
    sample   INTEGER PRIMARY KEY,
    text     TEXT NOT NULL,
    preamble TEXT
);

CREATE INDEX IF NOT EXISTS programs_status ON programs(status);
CREATE INDEX IF NOT EXISTS programs_hash ON programs(code_hash);
"""
