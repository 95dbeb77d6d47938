#!/usr/bin/env bash
# Checks what `make lab` / `make test` need from the system before anything is installed, and stops
# at once with the exact command to install what is missing (README, "Before you start").
#   tools/preflight.sh PYTHON [CHECK_HEADERS]
# PYTHON: the interpreter that creates .venv (Makefile's PYTHON). CHECK_HEADERS=0 skips the Python
# headers check (they are needed only to build kanlab's optional C kernels).
# Runs in well under a second; prints nothing when all is well.
set -u
PYTHON=${1:-python3}
CHECK_HEADERS=${2:-1}
os=$(uname -s)
fail=0

# How to install a system package here: the Debian/Ubuntu line, Homebrew on macOS.
install_line() {  # install_line DEBIAN_PACKAGES BREW_PACKAGES
  if [ "$os" = Darwin ]; then echo "brew install $2"
  elif command -v apt-get >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then echo "apt-get install -y $1"; else echo "sudo apt-get install -y $1"; fi
  elif command -v dnf >/dev/null 2>&1; then echo "sudo dnf install -y $3"
  else echo "install $1 with your system's package manager"; fi
}
problem() { echo "make: $1" >&2; echo "      $2" >&2; fail=1; }

if ! command -v "$PYTHON" >/dev/null 2>&1; then
  problem "'$PYTHON' not found: kanlab needs Python 3.11 or newer." \
    "$(install_line python3 python@3.12 python3) (or choose one: make lab PYTHON=python3.12)"
  exit 1
fi
ver=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
if [ -z "$ver" ]; then
  problem "'$PYTHON' does not run: kanlab needs Python 3.11 or newer." \
    "$(install_line "python3.11 python3.11-venv python3.11-dev" python@3.12 python3.11) && make lab PYTHON=python3.11"
  exit 1
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  problem "$PYTHON is Python $ver; kanlab needs 3.11 or newer (requirements/lock.txt: numpy 2.4, scipy 1.17, ipython 9)." \
    "$(install_line "python3.11 python3.11-venv python3.11-dev" python@3.12 python3.11) && make lab PYTHON=python3.11"
  exit 1
fi
# Debian/Ubuntu ship `venv` without ensurepip until python3-venv is installed.
if ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  problem "$PYTHON cannot create a virtual environment (no venv/ensurepip module)." \
    "$(install_line "python$ver-venv" python@$ver "python$ver")"
fi
# With a C compiler, pip builds kanlab's optional C kernels, which need Python's headers; without
# them the build is skipped silently and kanlab runs 2-3x slower on small layers.
if [ "$CHECK_HEADERS" != 0 ] && command -v cc >/dev/null 2>&1; then
  inc=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
  if [ ! -f "$inc/Python.h" ]; then
    problem "Python.h not found in $inc: kanlab's C kernels cannot be built." \
      "$(install_line "python$ver-dev" python@$ver "python$ver-devel")   (or skip the kernels: make lab CHECK_HEADERS=0)"
  fi
fi
# graphviz's `dot` draws the course's graphs (notebooks 00, 04, 07 and their tests).
if ! command -v dot >/dev/null 2>&1; then
  problem "graphviz's 'dot' program not found (it draws the course's graphs)." \
    "$(install_line graphviz graphviz graphviz)"
fi
exit $fail
