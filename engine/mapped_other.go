//go:build !linux

package engine

import "os"

// mapFile returns nil: outside Linux files are read into buffers.
func mapFile(*os.File, int64) []byte { return nil }

func dropPages([]byte) {}

func populatePages([]byte) bool { return false }

func unmapFile([]byte) {}
