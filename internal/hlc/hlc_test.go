package hlc

import (
	"sort"
	"testing"
	"time"
)

func TestMonotonicWithClockGoingBackwards(t *testing.T) {
	wall := time.UnixMilli(1_700_000_000_000)
	c := New("a", Timestamp{}, func() time.Time { return wall })
	var prev Timestamp
	for i := 0; i < 1000; i++ {
		if i%100 == 0 {
			wall = wall.Add(-time.Second) // the workstation clock is corrected backwards
		}
		ts := c.Now()
		if i > 0 && Compare(prev, ts) >= 0 {
			t.Fatalf("step %d: %v not after %v", i, ts, prev)
		}
		if i > 0 && prev.String() >= ts.String() {
			t.Fatalf("step %d: string order broken: %s >= %s", i, prev, ts)
		}
		prev = ts
	}
}

func TestObserveRemoteAhead(t *testing.T) {
	c := New("a", Timestamp{}, func() time.Time { return time.UnixMilli(1000) })
	remote := Timestamp{WallMillis: 5000, Logical: 7, Node: "b"}
	c.Observe(remote)
	if ts := c.Now(); Compare(ts, remote) <= 0 {
		t.Fatalf("local %v not after observed %v", ts, remote)
	}
}

func TestRestartNeverGoesBack(t *testing.T) {
	last := Timestamp{WallMillis: 9_000_000_000_000, Logical: 3}
	c := New("a", last, func() time.Time { return time.UnixMilli(1000) })
	if ts := c.Now(); ts.WallMillis != last.WallMillis || ts.Logical != 4 {
		t.Fatalf("got %v after restart from %v", ts, last)
	}
}

func TestParseRoundTripAndSortOrder(t *testing.T) {
	ts := []Timestamp{
		{WallMillis: 2, Logical: 0, Node: "b"},
		{WallMillis: 1, Logical: 300, Node: "a"},
		{WallMillis: 1, Logical: 2, Node: "z"},
		{WallMillis: 1, Logical: 2, Node: "a"},
	}
	strs := make([]string, len(ts))
	for i, x := range ts {
		strs[i] = x.String()
		back, err := Parse(strs[i])
		if err != nil || back != x {
			t.Fatalf("round trip %v: %v, %v", x, back, err)
		}
	}
	sort.Strings(strs)
	sort.Slice(ts, func(i, j int) bool { return Compare(ts[i], ts[j]) < 0 })
	for i := range ts {
		if ts[i].String() != strs[i] {
			t.Fatalf("order differs at %d: %s vs %s", i, ts[i], strs[i])
		}
	}
	for _, bad := range []string{"", "1-2-3", "abcdefghijklm-00000000-x"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}
