//go:build unix

package benchmark

import "syscall"

// settle flushes the machine's dirty pages before a timed phase, so that
// the write-back of one phase (hundreds of MiB) does not land on the next.
func settle() { syscall.Sync() }
