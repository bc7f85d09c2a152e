//go:build !unix

package benchmark

// settle is a no-op where there is no sync(2).
func settle() {}
