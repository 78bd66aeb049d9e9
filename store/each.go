package store

import (
	"fmt"

	"github.com/ruleatlas/ruleatlas/rule"
)

// EachRule calls fn with every rule of the catalog, decoded from its stored document, in id
// order, and stops at the first error fn returns, which it returns unchanged. It reads them in
// one query, where listing pages of summaries and fetching each rule costs one per rule.
func (s *Store) EachRule(fn func(*rule.Rule) error) error {
	rows, err := s.db.Query(`SELECT id, doc FROM rules ORDER BY id`)
	if err != nil {
		return fmt.Errorf("store: rules: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var doc []byte
		if err := rows.Scan(&id, &doc); err != nil {
			return fmt.Errorf("store: rules: %w", err)
		}
		r, err := decodeRule(id, doc)
		if err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: rules: %w", err)
	}
	return nil
}
