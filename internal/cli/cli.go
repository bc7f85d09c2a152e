// Package cli holds the command-line plumbing the binaries share: usage
// mistakes (exit status 2) versus failures (exit status 1, with the Italian
// message for people and the precise error in the log).
package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"sportello/internal/desk"
)

// UsageError is a mistake in the command line.
type UsageError struct{ Msg string }

func (e UsageError) Error() string { return e.Msg }

// Usagef returns a UsageError with a formatted message.
func Usagef(format string, a ...any) error { return UsageError{Msg: fmt.Sprintf(format, a...)} }

// Code prints what err means and returns the exit status: 0 for nil, 2 for
// a usage mistake (followed by the usage text), 1 for a failure.
func Code(err error, usage string, stderr io.Writer, log *slog.Logger) int {
	var ue UsageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		if ue.Msg != "" {
			fmt.Fprintln(stderr, ue.Msg)
		}
		fmt.Fprintln(stderr, usage)
		return 2
	default:
		log.Error("failed", "err", err)
		fmt.Fprintln(stderr, desk.UserMessage(err))
		return 1
	}
}

// Exit ends the program with Code's status (when it is not 0).
func Exit(err error, usage string, log *slog.Logger) {
	if code := Code(err, usage, os.Stderr, log); code != 0 {
		os.Exit(code)
	}
}
