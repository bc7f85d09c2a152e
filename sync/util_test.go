package sync

import (
	"encoding/json"
	"io"
)

func json_decode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }
