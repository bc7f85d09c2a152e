package sync

import (
	"fmt"
	"strconv"
	"time"
)

// ClockTolerance is how far a workstation's clock may be from the server's
// before the desk's status bar and `sportello-server workstation list`
// say so. A desk writes the legal dates of what it does (an emergency
// registration's date and time, an application's history, the receipts)
// with its own clock, to the minute; the merge of replicated changes does
// not depend on it (hybrid logical clocks), the dates do.
const ClockTolerance = 2 * time.Minute

// ClockOff reports whether a clock offset is beyond ClockTolerance.
func ClockOff(offset time.Duration) bool {
	return offset > ClockTolerance || offset < -ClockTolerance
}

// OffsetParts splits the size of a clock offset, to the nearest minute,
// into whole days, hours and minutes as OffsetAmount writes them: days
// only from two on ("1 giorno" is "24 h" unless it is exactly a day).
func OffsetParts(offset time.Duration) (days, hours, mins int64) {
	total := int64((offset.Abs() + 30*time.Second) / time.Minute)
	days, hours, mins = total/(24*60), total/60%24, total%60
	if days == 1 && (hours > 0 || mins > 0) {
		days, hours = 0, hours+24
	}
	if days >= 2 {
		mins = 0 // "2 giorni e 3 h": minutes do not matter any more
	}
	return days, hours, mins
}

// OffsetAmount writes the size of a clock offset for people, in Italian:
// "45 min", "3 h 12 min", "1 giorno", "2 giorni e 3 h" (the sign is left
// to the sentence: avanti, indietro).
func OffsetAmount(offset time.Duration) string {
	days, hours, mins := OffsetParts(offset)
	switch {
	case days == 1:
		return "1 giorno"
	case days > 1 && hours > 0:
		return fmt.Sprintf("%d giorni e %d h", days, hours)
	case days > 1:
		return fmt.Sprintf("%d giorni", days)
	case hours > 0 && mins > 0:
		return fmt.Sprintf("%d h %d min", hours, mins)
	case hours > 0:
		return fmt.Sprintf("%d h", hours)
	}
	return fmt.Sprintf("%d min", mins)
}

// clockOffset is a workstation's clock minus the server's, from a request
// sent at sent and answered at got by the workstation's clock, carrying the
// server's clock in ms (HeaderClock): the server read its clock somewhere
// in between, and the midpoint is the best guess (off by at most half the
// round trip).
func clockOffset(sent, got time.Time, server int64) time.Duration {
	mid := sent.UnixMilli() + (got.UnixMilli()-sent.UnixMilli())/2
	return time.Duration(mid-server) * time.Millisecond
}

// clockMillis reads a HeaderClock value.
func clockMillis(v string) (int64, bool) {
	ms, err := strconv.ParseInt(v, 10, 64)
	// A clock reset to 1980 or 2000 is what this is for; before 1970 or
	// past 2286 it is not a clock reading.
	return ms, err == nil && ms > 0 && ms < 1e13
}
