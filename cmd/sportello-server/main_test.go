package main

import (
	"strings"
	"testing"
	"time"

	"sportello/internal/server"
)

// `workstation list` names the workstation that holds the stable horizon
// back only once it has for a week, and says what to do.
func TestHorizonNote(t *testing.T) {
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		w    server.WorkstationInfo
		want string // substring; "" = no note
	}{
		{server.WorkstationInfo{Code: "DESK01", HoldsHorizon: true, SyncedUpTo: "2026-12-05T09:00:00Z", LastSeenAt: "2026-12-05T09:00:00Z"}, ""},
		{server.WorkstationInfo{Code: "DESK02", HoldsHorizon: false, SyncedUpTo: "2026-10-01T09:00:00Z", LastSeenAt: "2026-10-01T09:00:00Z"}, ""},
		{server.WorkstationInfo{Code: "LAP03", HoldsHorizon: true, SyncedUpTo: "2026-10-01T09:00:00Z", LastSeenAt: "2026-10-01T09:00:00Z"},
			"LAP03 non si sincronizza dal 01/10/2026 11:00"},
		{server.WorkstationInfo{Code: "LAP04", HoldsHorizon: true}, "LAP04 non si è mai sincronizzata"},
	}
	for _, c := range cases {
		got := horizonNote(c.w, now)
		if c.want == "" {
			if got != "" {
				t.Errorf("%s: unexpected note %q", c.w.Code, got)
			}
			continue
		}
		if !strings.Contains(got, c.want) || !strings.Contains(got, "workstation revoke -code "+c.w.Code) {
			t.Errorf("%s: note %q, want %q and the revoke command", c.w.Code, got, c.want)
		}
	}
}
