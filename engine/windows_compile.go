package engine

import "github.com/ruleatlas/ruleatlas/rule"

// compileWindows compiles a rule on Windows event logs.
func compileWindows(p *Program, r *rule.Rule) (*Program, error) {
	return compileRule(p, r, nil)
}
