// Package engine compiles rules into programs and runs them over logs: AWS CloudTrail records
// and Windows event logs exported to JSON, as files of JSON lines or documents, gzipped or not.
//
// Compile turns a rule's stages into a Program: matchers built once (case-folded literals,
// globs with Sigma's escapes, substrings, regular expressions, CIDR prefixes, numbers, value
// encodings), references and quantifiers resolved, evaluation short-circuited. NewSet gathers
// programs with the trie of JSON paths they read and an index that offers an event only the
// programs it can match (by equal values, file names, numbers and pieces of text, the latter
// found with one automaton per field). Run reads files and evaluates events in parallel and
// reports detections in input order, formatted by its workers when given a Writer; the scanner
// decodes only the fields the loaded rules reference. Correlation rules (chains of them too)
// and Sigma v1 aggregations are evaluated over the stream of their base rules' matches.
// Explain reports, for one rule and a few events, which stage and predicate matched and what
// each event did to the rule's aggregate.
package engine
