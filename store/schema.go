// Package store is the catalog file: a SQLite database written once per build, in one
// transaction, and renamed into place; then read by many concurrent readers. It holds each
// rule as its JSON document (one indexed read renders a page) plus the columns and side
// tables that listing, facets, the ATT&CK matrix and full-text search need.
package store

import "errors"

// schemaVersion changes whenever the tables change; a reader refuses another version, because
// a catalog is rebuilt from its sources rather than migrated.
const schemaVersion = "1"

// Meta keys the catalog writes and pages read.
const (
	MetaSchema  = "schema"  // schemaVersion, written by Commit
	MetaBuilt   = "built"   // build time, RFC 3339
	MetaSources = "sources" // JSON array of SourceInfo
	MetaReport  = "report"  // the build report JSON
)

// ErrNotFound is returned for an unknown rule id.
var ErrNotFound = errors.New("not found")

// ErrDuplicate is returned by AddRule for a rule id already written.
var ErrDuplicate = errors.New("duplicate rule id")

// Tables are created bare and indexed in Commit: building an index once over sorted keys is
// much faster than maintaining it across thousands of inserts.
const createTables = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE rules (
	n        INTEGER PRIMARY KEY,
	id       TEXT NOT NULL,
	platform TEXT NOT NULL,
	language TEXT NOT NULL,
	class    TEXT NOT NULL,
	title    TEXT NOT NULL,
	status   TEXT NOT NULL,
	severity TEXT NOT NULL,
	product  TEXT NOT NULL,
	service  TEXT NOT NULL,
	category TEXT NOT NULL,
	corpus   TEXT NOT NULL,
	path     TEXT NOT NULL,
	excerpt  TEXT NOT NULL,
	doc      BLOB NOT NULL
);
CREATE TABLE rule_attack (
	rule         INTEGER NOT NULL,
	tactic_id    TEXT NOT NULL,
	tactic       TEXT NOT NULL,
	technique_id TEXT NOT NULL,
	technique    TEXT NOT NULL,
	parent       TEXT NOT NULL
);
CREATE TABLE rule_events (
	rule     INTEGER NOT NULL,
	provider TEXT NOT NULL,
	event    TEXT NOT NULL,
	title    TEXT NOT NULL
);
CREATE TABLE rule_tags (rule INTEGER NOT NULL, tag TEXT NOT NULL);
CREATE TABLE tactics (id TEXT PRIMARY KEY, name TEXT NOT NULL, ord INTEGER NOT NULL);
CREATE TABLE techniques (
	id      TEXT PRIMARY KEY,
	name    TEXT NOT NULL,
	parent  TEXT NOT NULL,
	tactics TEXT NOT NULL
);
CREATE VIRTUAL TABLE rules_fts USING fts5(
	title, description, tags, fields, vals, other,
	content='', tokenize='unicode61 remove_diacritics 2'
);
`

const createIndexes = `
CREATE UNIQUE INDEX rules_id ON rules(id);
CREATE INDEX rules_path ON rules(path);
CREATE INDEX rules_title ON rules(title COLLATE NOCASE, n);
CREATE INDEX rules_platform ON rules(platform);
CREATE INDEX rule_attack_rule ON rule_attack(rule);
CREATE INDEX rule_attack_tactic ON rule_attack(tactic_id, rule);
CREATE INDEX rule_attack_technique ON rule_attack(technique_id, rule);
CREATE INDEX rule_attack_parent ON rule_attack(parent, rule);
CREATE INDEX rule_events_event ON rule_events(provider, event, rule);
CREATE INDEX rule_events_rule ON rule_events(rule);
CREATE INDEX rule_tags_tag ON rule_tags(tag, rule);
INSERT INTO rules_fts(rules_fts) VALUES('optimize');
ANALYZE;
`

// bm25 weights for rules_fts columns: a hit in the title says most about a rule, one in the
// free-text description least after the long tail of values.
const ftsRank = `bm25(rules_fts, 10.0, 2.0, 4.0, 3.0, 1.5, 3.0)`
