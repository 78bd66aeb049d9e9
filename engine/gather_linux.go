package engine

import (
	"io"
	"os"
	"syscall"
	"unsafe"
)

// newGather returns a gather writing to w when w is a file (a regular file, a pipe, a
// terminal), or nil.
func newGather(w io.Writer) *gather {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return nil
	}
	return &gather{w: &fileVectors{rc: rc, name: f.Name()}}
}

// fileVectors writes pieces to a file with writev, through the runtime's poller, so that a
// pipe that is full waits as it would for File.Write.
type fileVectors struct {
	rc   syscall.RawConn
	name string
	iov  []syscall.Iovec
}

func (f *fileVectors) writeVectors(pieces [][]byte) (int, error) {
	f.iov = f.iov[:0]
	for _, p := range pieces {
		v := syscall.Iovec{Base: &p[0]}
		v.SetLen(len(p))
		f.iov = append(f.iov, v)
	}
	var n uintptr
	var errno syscall.Errno
	err := f.rc.Write(func(fd uintptr) bool {
		for {
			n, _, errno = syscall.Syscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&f.iov[0])), uintptr(len(f.iov)))
			if errno != syscall.EINTR {
				return errno != syscall.EAGAIN
			}
		}
	})
	clear(f.iov) // the pointers would keep the buffers from the collector
	if err != nil {
		return 0, err
	}
	if errno != 0 {
		return 0, &os.PathError{Op: "write", Path: f.name, Err: errno}
	}
	return int(n), nil
}
