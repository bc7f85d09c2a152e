#!/usr/bin/env bash
# deps.sh — install the system packages Sportello needs, and only those missing.
#
# Usage: scripts/deps.sh [run|test|windows]...   (default: run)
#
#   run      cgo build deps for Fyne on Linux (make, compiler, pkg-config, GL/X11 headers)
#   test     run + what `make test` uses: Xvfb, xauth, x11-utils (xwininfo),
#            poppler-utils (pdftoppm/pdftotext), ImageMagick (import/identify)
#   windows  run + the MinGW-w64 cross compiler for the Windows build
#
# On Debian/Ubuntu it asks dpkg which packages are missing and installs just
# those with apt-get (directly as root, through sudo otherwise). It prints
# nothing when everything is already there. On other systems it cannot
# install anything: it checks for the tools and headers itself, says what is
# missing, and fails only when something is.
#
# It also checks that `go` is on PATH and at least the version go.mod asks for.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

say() { printf 'deps: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

usage() {
	sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

# --- package lists per profile -----------------------------------------------
run_pkgs=(make gcc pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev
	libxinerama-dev libxi-dev libxxf86vm-dev)
test_pkgs=(xvfb xauth x11-utils poppler-utils imagemagick)
windows_pkgs=(gcc-mingw-w64-x86-64)

# For non-Debian systems: what to look for instead of a dpkg entry.
# Each entry is "kind:name" — cmd: a command on PATH, hdr: a C header under
# /usr/include or /usr/local/include (or found via pkg-config's include dirs).
run_probes=(cmd:make cmd:gcc cmd:pkg-config hdr:GL/gl.h hdr:X11/Xlib.h hdr:X11/Xcursor/Xcursor.h
	hdr:X11/extensions/Xrandr.h hdr:X11/extensions/Xinerama.h hdr:X11/extensions/XInput2.h
	hdr:X11/extensions/xf86vmode.h)
test_probes=(cmd:Xvfb cmd:xauth cmd:xwininfo cmd:pdftoppm cmd:import cmd:identify)
windows_probes=(cmd:x86_64-w64-mingw32-gcc)
if [ "$(uname -s)" = Darwin ]; then
	# Fyne on macOS uses Cocoa/Metal from the Xcode command line tools, not X11.
	run_probes=(cmd:make cmd:cc)
fi

profiles=("$@")
[ ${#profiles[@]} -gt 0 ] || profiles=(run)

want_pkgs=()
want_probes=()
for p in "${profiles[@]}"; do
	case "$p" in
	run) want_pkgs+=("${run_pkgs[@]}"); want_probes+=("${run_probes[@]}") ;;
	test) want_pkgs+=("${run_pkgs[@]}" "${test_pkgs[@]}")
		want_probes+=("${run_probes[@]}" "${test_probes[@]}") ;;
	windows) want_pkgs+=("${run_pkgs[@]}" "${windows_pkgs[@]}")
		want_probes+=("${run_probes[@]}" "${windows_probes[@]}") ;;
	-h | --help | help) usage ;;
	*) say "unknown profile '$p' (expected run, test or windows)"; usage ;;
	esac
done

# --- Go toolchain ------------------------------------------------------------
# The version go.mod asks for: the toolchain line if any, else the go line.
go_wanted=""
if [ -f "$root/go.mod" ]; then
	go_wanted="$(sed -n 's/^toolchain go\([0-9.]*\).*/\1/p' "$root/go.mod" | head -n1)"
	[ -n "$go_wanted" ] || go_wanted="$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$root/go.mod" | head -n1)"
fi

# ver_ge A B: is dotted version A >= B?
ver_ge() {
	local -a a b
	local i x y
	IFS=. read -r -a a <<<"$1"
	IFS=. read -r -a b <<<"$2"
	for ((i = 0; i < 3; i++)); do
		x=${a[i]:-0} y=${b[i]:-0}
		((10#$x > 10#$y)) && return 0
		((10#$x < 10#$y)) && return 1
	done
	return 0
}

check_go() {
	if ! command -v go >/dev/null 2>&1; then
		die "the Go toolchain is not on PATH: install Go ${go_wanted:-(see go.mod)} or newer from https://go.dev/dl/ and add its bin/ folder to PATH (e.g. export PATH=\$PATH:/usr/local/go/bin)"
	fi
	[ -n "$go_wanted" ] || return 0
	local have
	have="$(go env GOVERSION 2>/dev/null | sed -n 's/^go\([0-9.]*\).*/\1/p')"
	[ -n "$have" ] || return 0
	if ! ver_ge "$have" "$go_wanted"; then
		# With GOTOOLCHAIN=auto (the default) an older go downloads the right
		# toolchain itself; warn, since that needs the network.
		case "$(go env GOTOOLCHAIN 2>/dev/null)" in
		local) die "go.mod needs Go $go_wanted but 'go' is $have and GOTOOLCHAIN=local: install Go $go_wanted or newer" ;;
		*) say "warning: go.mod needs Go $go_wanted, 'go' on PATH is $have; it will try to fetch go$go_wanted itself (GOTOOLCHAIN)" ;;
		esac
	fi
}

# --- helpers -----------------------------------------------------------------
# Unique list, keeping order.
dedup() {
	local -A seen=()
	local x
	for x in "$@"; do
		[ -n "${seen[$x]:-}" ] && continue
		seen[$x]=1
		printf '%s\n' "$x"
	done
}

have_header() {
	local h="$1" d
	for d in /usr/include /usr/local/include /usr/include/x86_64-linux-gnu \
		/usr/X11R6/include /usr/X11/include /opt/homebrew/include /usr/local/X11/include; do
		[ -f "$d/$h" ] && return 0
	done
	if command -v pkg-config >/dev/null 2>&1; then
		for d in $(pkg-config --cflags-only-I x11 gl 2>/dev/null | tr ' ' '\n' | sed -n 's/^-I//p'); do
			[ -f "$d/$h" ] && return 0
		done
	fi
	return 1
}

probe() {
	case "$1" in
	cmd:*) command -v "${1#cmd:}" >/dev/null 2>&1 ;;
	hdr:*) have_header "${1#hdr:}" ;;
	*) return 1 ;;
	esac
}

# --- Debian / Ubuntu ---------------------------------------------------------
install_debian() {
	local missing=() p status
	while IFS= read -r p; do
		status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
		[ "$status" = "install ok installed" ] || missing+=("$p")
	done < <(dedup "${want_pkgs[@]}")
	[ ${#missing[@]} -gt 0 ] || return 0

	local -a sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null 2>&1; then
			sudo=(sudo)
			# Non-interactive callers (CI, no terminal) must not hang on a password prompt.
			[ -t 0 ] || sudo=(sudo -n)
		else
			die "missing packages: ${missing[*]} — not root and no sudo; run as root: apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
		fi
	fi

	say "installing: ${missing[*]}"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
		die "apt-get update failed"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
		die "apt-get install failed for: ${missing[*]}"

	# Confirm dpkg now has them all.
	local still=()
	for p in "${missing[@]}"; do
		status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
		[ "$status" = "install ok installed" ] || still+=("$p")
	done
	[ ${#still[@]} -eq 0 ] || die "still missing after apt-get install: ${still[*]}"
	say "done"
}

# --- anything else -----------------------------------------------------------
check_other() {
	local missing=() pr
	while IFS= read -r pr; do
		probe "$pr" || missing+=("${pr#*:}")
	done < <(dedup "${want_probes[@]}")
	[ ${#missing[@]} -gt 0 ] || return 0
	say "this is not a Debian/Ubuntu system, so nothing is installed automatically."
	say "Debian names of what is needed: $(dedup "${want_pkgs[@]}" | tr '\n' ' ')"
	say "hints — Fedora: dnf install make gcc pkgconf-pkg-config libX11-devel libXcursor-devel libXrandr-devel libXinerama-devel libXi-devel libXxf86vm-devel mesa-libGL-devel xorg-x11-server-Xvfb xorg-x11-xauth xorg-x11-utils poppler-utils ImageMagick mingw64-gcc"
	say "        Arch: pacman -S make gcc pkgconf libx11 libxcursor libxrandr libxinerama libxi libxxf86vm mesa xorg-server-xvfb xorg-xauth xorg-xwininfo poppler imagemagick mingw-w64-gcc"
	die "not found: ${missing[*]}"
}

if command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
	install_debian
else
	check_other
fi
check_go
