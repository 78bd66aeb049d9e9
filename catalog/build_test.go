package catalog

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ruleatlas/ruleatlas/attack"
	"github.com/ruleatlas/ruleatlas/internal/testcorpora"
	"github.com/ruleatlas/ruleatlas/source"
)

// BenchmarkBuild builds the catalog of both Sigma corpora, ATT&CK included, as `ruleatlas
// build` does; bytes are the rule files read.
func BenchmarkBuild(b *testing.B) {
	corpora := testcorpora.Dir(b)
	m, err := attack.LoadFile(filepath.Join(corpora, "attack", "enterprise-attack.json"))
	if err != nil {
		b.Fatal(err)
	}
	specs := []source.Spec{{Name: "sigma", Location: filepath.Join(corpora, "sigma")}, {Name: "suzaku-rules", Location: filepath.Join(corpora, "suzaku-rules")}}
	var size int64
	for _, s := range specs {
		filepath.WalkDir(s.Location, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && filepath.Ext(p) == ".yml" {
				if info, err := d.Info(); err == nil {
					size += info.Size()
				}
			}
			return nil
		})
	}
	b.SetBytes(size)
	db := filepath.Join(b.TempDir(), "c.db")
	for b.Loop() {
		rep, err := Build(context.Background(), Options{Sources: specs, Attack: m, DB: db})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(rep.Platforms["sigma"].Rules), "rules")
	}
}

// BenchmarkAnalyse measures the cross-rule analysis alone: indicators, corpus counts,
// same-action lists and similar rules.
func BenchmarkAnalyse(b *testing.B) {
	corpora := testcorpora.Dir(b)
	specs := []source.Spec{{Name: "sigma", Location: filepath.Join(corpora, "sigma")}, {Name: "suzaku-rules", Location: filepath.Join(corpora, "suzaku-rules")}}
	rules, err := Load(context.Background(), Options{Sources: specs}, &Report{})
	if err != nil {
		b.Fatal(err)
	}
	var size int64
	for _, r := range rules {
		size += int64(len(r.Body))
	}
	b.SetBytes(size) // rule text analysed
	for b.Loop() {
		analyse(rules)
	}
	b.ReportMetric(float64(len(rules)), "rules")
}
