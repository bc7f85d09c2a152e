package sync

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

type failingWriter struct{ n int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.n += len(p); f.n > 5<<20 {
		return 0, errors.New("disco pieno")
	}
	return len(p), nil
}

func TestPipedCopy(t *testing.T) {
	for _, size := range []int{0, 1, 4<<20 - 1, 4 << 20, 4<<20 + 1, 13<<20 + 7} {
		src := make([]byte, size)
		for i := range src {
			src[i] = byte(rand.IntN(256))
		}
		var dst bytes.Buffer
		if err := pipedCopy(&dst, iotest.HalfReader(bytes.NewReader(src))); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(dst.Bytes(), src) {
			t.Fatalf("size %d: copy differs", size)
		}
	}
	if err := pipedCopy(io.Discard, iotest.TimeoutReader(bytes.NewReader(make([]byte, 10)))); err == nil {
		t.Fatal("read error lost")
	}
	src := bytes.NewReader(make([]byte, 200<<20))
	if err := pipedCopy(&failingWriter{}, src); err == nil {
		t.Fatal("write error lost")
	}
	if src.Len() == 0 {
		t.Fatal("a failed write did not stop the download")
	}
}
