#!/usr/bin/env bash
# window-check.sh — real-window smoke test of the desktop app under Xvfb.
#
# Usage: scripts/window-check.sh BINARY SCREENSHOT.png
#
# Starts a private Xvfb (1280x800x24) on a free display, runs BINARY there
# with a fresh, empty SPORTELLO_DATA_DIR and an Italian locale, waits for a
# mapped window whose name contains "Sportello", takes a screenshot of the
# whole screen (ImageMagick `import -window root`) into SCREENSHOT.png, and
# checks that
#   - the app is still running after the screenshot,
#   - the screenshot is not blank: within the app window's rectangle there
#     are more than MIN_COLORS distinct colours and the standard deviation of
#     the pixel values (0..1) is above MIN_STDDEV (shots are retried for up to
#     15 s while the window is still painting).
# Exits 0 on success, 1 on crash / timeout / blank window (printing the tail
# of the app's stderr), 2 on bad usage or missing tools.
#
# Environment knobs (all optional):
#   WINDOW_TITLE    text the window name must contain   (default Sportello)
#   WINDOW_TIMEOUT  seconds to wait for the window      (default 30)
#   WINDOW_SETTLE   seconds to let it paint before the shot (default 2)
#   MIN_COLORS      distinct colours required, exclusive (default 8)
#   MIN_STDDEV      std deviation required, exclusive    (default 0.01)
#   APP_ARGS        extra arguments passed to BINARY (word-split)
set -euo pipefail

say() { printf 'window-check: %s\n' "$*" >&2; }

if [ $# -ne 2 ]; then
	sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
fi

bin="$1"
shot="$2"
title="${WINDOW_TITLE:-Sportello}"
timeout="${WINDOW_TIMEOUT:-30}"
settle="${WINDOW_SETTLE:-2}"
min_colors="${MIN_COLORS:-8}"
min_stddev="${MIN_STDDEV:-0.01}"

case "$bin" in */*) ;; *) bin="./$bin" ;; esac
if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then
	say "not an executable file: $1"
	exit 2
fi
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"

for tool in Xvfb xwininfo import identify convert; do
	command -v "$tool" >/dev/null 2>&1 || {
		say "'$tool' not found: run scripts/deps.sh test (needs xvfb, x11-utils, imagemagick)"
		exit 2
	}
done

mkdir -p "$(dirname "$shot")"
shot="$(cd "$(dirname "$shot")" && pwd)/$(basename "$shot")"

work="$(mktemp -d "${TMPDIR:-/tmp}/window-check.XXXXXX")"
xvfb_pid=""
app_pid=""

stop_pid() { # stop_pid PID: TERM, then KILL after 5 s
	local pid="$1" i
	[ -n "$pid" ] || return 0
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	stop_pid "$app_pid"
	stop_pid "$xvfb_pid"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

app_tail() {
	say "---- app stderr (last 40 lines) ----"
	tail -n 40 "$work/app.err" >&2 || true
	if [ -s "$work/app.out" ]; then
		say "---- app stdout (last 10 lines) ----"
		tail -n 10 "$work/app.out" >&2 || true
	fi
	say "------------------------------------"
}

fail() {
	say "FAIL: $*"
	app_tail
	exit 1
}

# ---- Xvfb on a free display ------------------------------------------------
start_xvfb() {
	local tries n i
	for ((tries = 0; tries < 20; tries++)); do
		n=$((100 + (RANDOM % 400)))
		[ -e "/tmp/.X11-unix/X$n" ] && continue
		[ -e "/tmp/.X$n-lock" ] && continue
		Xvfb ":$n" -screen 0 1280x800x24 -nolisten tcp -noreset >"$work/xvfb.log" 2>&1 &
		xvfb_pid=$!
		for ((i = 0; i < 100; i++)); do # up to 10 s for the socket
			if ! kill -0 "$xvfb_pid" 2>/dev/null; then
				break # died: display taken in a race, or broken; try another
			fi
			if [ -S "/tmp/.X11-unix/X$n" ] && xwininfo -root -display ":$n" >/dev/null 2>&1; then
				display=":$n"
				return 0
			fi
			sleep 0.1
		done
		stop_pid "$xvfb_pid"
		xvfb_pid=""
	done
	say "could not start Xvfb on a free display; last Xvfb log:"
	cat "$work/xvfb.log" >&2 || true
	exit 1
}

display=""
start_xvfb
export DISPLAY="$display"

# ---- environment for the app -----------------------------------------------
unset LC_ALL LC_MESSAGES WAYLAND_DISPLAY
if locale -a 2>/dev/null | grep -qix 'it_IT.utf-\?8'; then
	export LANG=it_IT.UTF-8
else
	export LANG=C.UTF-8 # it_IT not generated here; LANGUAGE still picks Italian
fi
export LANGUAGE=it_IT:it
export SPORTELLO_DATA_DIR="$work/data"
export XDG_CONFIG_HOME="$work/config" XDG_CACHE_HOME="$work/cache" XDG_DATA_HOME="$work/share"
mkdir -p "$SPORTELLO_DATA_DIR" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$XDG_DATA_HOME"

# ---- run the app ------------------------------------------------------------
start=$SECONDS
# shellcheck disable=SC2086 # APP_ARGS is meant to be word-split
(cd "$work" && exec "$bin" ${APP_ARGS:-}) >"$work/app.out" 2>"$work/app.err" </dev/null &
app_pid=$!
say "started $(basename "$bin") (pid $app_pid) on DISPLAY=$DISPLAY, LANG=$LANG, SPORTELLO_DATA_DIR=$SPORTELLO_DATA_DIR"

app_alive() { kill -0 "$app_pid" 2>/dev/null; }
app_status() { # exit status of a dead app
	local rc=0
	wait "$app_pid" 2>/dev/null || rc=$?
	app_pid=""
	echo "$rc"
}

# Look for a viewable top-level window whose name contains $title.
find_window() {
	local id
	for id in $(xwininfo -root -tree 2>/dev/null |
		grep -F -- "$title" |
		sed -n 's/^[[:space:]]*\(0x[0-9a-fA-F]\{1,\}\) "[^"]*'"$title"'.*/\1/p'); do
		if xwininfo -id "$id" 2>/dev/null | grep -q 'Map State: IsViewable'; then
			echo "$id"
			return 0
		fi
	done
	return 1
}

win=""
while :; do
	if ! app_alive; then
		fail "the app exited with status $(app_status) before a \"$title\" window appeared ($((SECONDS - start)) s)"
	fi
	if win="$(find_window)"; then
		break
	fi
	if ((SECONDS - start >= timeout)); then
		say "windows on $DISPLAY:"
		xwininfo -root -tree 2>/dev/null | sed -n '1,30p' >&2 || true
		fail "no mapped window named \"*$title*\" within ${timeout} s"
	fi
	sleep 0.5
done
say "window $win mapped after $((SECONDS - start)) s"

# Window rectangle, for checking the shot's content where the app drew.
info="$(xwininfo -id "$win")"
wx=$(sed -n 's/.*Absolute upper-left X: *\(-\{0,1\}[0-9]*\).*/\1/p' <<<"$info")
wy=$(sed -n 's/.*Absolute upper-left Y: *\(-\{0,1\}[0-9]*\).*/\1/p' <<<"$info")
ww=$(sed -n 's/.*Width: *\([0-9]*\).*/\1/p' <<<"$info")
wh=$(sed -n 's/.*Height: *\([0-9]*\).*/\1/p' <<<"$info")
# Clamp to the screen.
((wx < 0)) && { ww=$((ww + wx)); wx=0; }
((wy < 0)) && { wh=$((wh + wy)); wy=0; }
((wx + ww > 1280)) && ww=$((1280 - wx))
((wy + wh > 800)) && wh=$((800 - wy))
((ww > 0 && wh > 0)) || fail "window $win lies off screen (${ww}x${wh}+${wx}+${wy})"
geom="${ww}x${wh}+${wx}+${wy}"

# ---- screenshot, retried until the window has content or time is up ----------
sleep "$settle"
shot_start=$SECONDS
colors=0
stddev=0
while :; do
	app_alive || fail "the app died (status $(app_status)) while waiting to take the screenshot"
	import -display "$DISPLAY" -window root "$shot" 2>"$work/import.err" ||
		{ cat "$work/import.err" >&2; fail "import could not take a screenshot"; }
	read -r colors stddev < <(convert "$shot" -crop "$geom" +repage png:- |
		identify -format '%k %[fx:standard_deviation]\n' - 2>/dev/null) || true
	colors=${colors:-0} stddev=${stddev:-0}
	if awk -v c="$colors" -v s="$stddev" -v mc="$min_colors" -v ms="$min_stddev" \
		'BEGIN { exit !(c > mc && s > ms) }'; then
		break
	fi
	if ((SECONDS - shot_start >= 15)); then
		fail "the window looks blank: $colors colours (need > $min_colors), stddev $stddev (need > $min_stddev) in $geom; screenshot kept at $shot"
	fi
	sleep 1
done

# Still alive a moment after the screenshot?
sleep 1
app_alive || fail "the app died (status $(app_status)) right after the screenshot"

say "OK: window \"$title\" ($geom) shows $colors colours, stddev $stddev; screenshot: $shot"
if [ -s "$work/app.err" ]; then
	say "app stderr had $(wc -l <"$work/app.err") line(s); last 5:"
	tail -n 5 "$work/app.err" >&2
fi
exit 0
