// Package engine compiles rules into programs and runs them over logs: AWS CloudTrail records
// and Windows event logs exported to JSON, as files of JSON lines or documents, gzipped or not.
//
// Compile turns a rule's stages into a Program: matchers built once (case-folded literals,
// globs with Sigma's escapes, substrings, regular expressions, CIDR prefixes, numbers, value
// encodings), references and quantifiers resolved, evaluation short-circuited. NewSet gathers
// programs with the trie of JSON paths they read and an index on their discriminating equality
// predicates. Run reads events in parallel and calls back with detections in input order; the
// scanner decodes only the fields the loaded rules reference. Correlation rules are evaluated
// over the stream of their base rules' matches. Explain reports, for one rule and a few events,
// which stage and predicate matched.
package engine
