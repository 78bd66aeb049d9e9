//go:build !linux

package engine

import "os"

// mapFile returns nil: outside Linux files are read into buffers.
func mapFile(*os.File, int64) []byte { return nil }

func dropPages([]byte) {}

func unmapFile([]byte) {}
