#!/usr/bin/env bash
# make binder-check: build Binder's environment the way repo2docker does, from binder/ alone, in a
# fresh folder, and run notebooks 00 and 02 under nbval inside it.
#   1. copy the working tree (tracked and untracked files, nothing git ignores) to a temp folder;
#   2. the Python of binder/runtime.txt makes a fresh venv (repo2docker: a fresh conda env);
#   3. binder/apt.txt's packages must be installed (installed with apt-get when root);
#   4. pip install -r binder/requirements.txt, then binder/postBuild in the copy;
#   5. every installed package must be at the lock's version (kanlab and pip's own tools aside);
#   6. the test tools (nbval, pytest, from the lock) are added in the check only, and nbval runs.
# The temp folder is removed at the end; pip's cache makes a second run take a minute or two.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
NOTEBOOKS=${BINDER_NOTEBOOKS:-"notebooks/00_start_here.ipynb notebooks/02_bsplines.ipynb"}
work=$(mktemp -d "${TMPDIR:-/tmp}/kanlab-binder.XXXXXX")
trap 'rm -rf "$work"' EXIT
say() { echo "binder-check: $*"; }

# 1. the repository as Binder clones it (the working tree, so uncommitted edits are checked too)
git ls-files --cached --others --exclude-standard -z \
  | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
  | xargs -0 cp --parents -t "$work" 2>/dev/null || true
mkdir -p "$work/src" && (cd "$work" && find . -mindepth 1 -maxdepth 1 ! -name src -exec mv {} src/ \;)
src="$work/src"
[ -f "$src/binder/requirements.txt" ] || { say "no binder/requirements.txt"; exit 1; }

# 2. the interpreter
version=$(sed -n 's/^python-\(3\.[0-9]*\)$/\1/p' "$src/binder/runtime.txt")
[ -n "$version" ] || { say "binder/runtime.txt must read python-3.X"; exit 1; }
python=$(command -v "python$version" || true)
[ -n "$python" ] || { say "python$version (binder/runtime.txt) not found: apt-get install python$version python$version-venv"; exit 1; }
say "fresh venv with $python ($("$python" --version))"
"$python" -m venv "$work/env"
export PATH="$work/env/bin:$PATH" VIRTUAL_ENV="$work/env"
unset PYTHONPATH

# 3. apt.txt (repo2docker apt-get installs them)
missing=()
while read -r pkg; do
  pkg=${pkg%%#*}; pkg=$(echo "$pkg" | xargs)
  [ -z "$pkg" ] && continue
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done < "$src/binder/apt.txt"
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "apt-get install ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    say "binder/apt.txt needs: sudo apt-get install ${missing[*]}"; exit 1
  fi
fi
say "apt.txt: $(tr '\n' ' ' < "$src/binder/apt.txt")installed; dot: $(command -v dot)"

# 4. requirements.txt and postBuild, as repo2docker runs them (from the repository's root).
# An index that does not answer (PyTorch's, on an offline mirror) is not retried per package.
index=$(sed -n 's/^--extra-index-url  *//p' "$src/binder/requirements.txt" | head -1)
if [ -n "$index" ] && [ -z "$(python tools/torch_index.py "$index" 2>/dev/null)" ]; then
  say "$index does not answer here: pip runs with PIP_RETRIES=0 (torch from the local index)"
  export PIP_RETRIES=0
fi
cd "$src"
start=$SECONDS
say "pip install -r binder/requirements.txt"
python -m pip install --quiet --disable-pip-version-check -r binder/requirements.txt
say "binder/postBuild"
bash binder/postBuild >/dev/null
say "installed in $((SECONDS - start)) s"

# 5. what got installed is the lock, nothing more, nothing else
python - <<'PY'
import re
from importlib import metadata
from packaging.utils import canonicalize_name
from packaging.version import Version

lock = {}
for raw in open("requirements/lock.txt", encoding="utf-8"):
    line = raw.split("#", 1)[0].strip()
    if line:
        name, version = re.fullmatch(r"(\S+)==(\S+)", line).groups()
        lock[canonicalize_name(name)] = Version(version)
bad, count = [], 0
for dist in metadata.distributions():
    name = canonicalize_name(dist.metadata["Name"])
    if name in {"kanlab", "pip", "setuptools", "wheel"}:
        continue
    count += 1
    if name not in lock or Version(Version(dist.version).public) != lock[name]:
        bad.append(f"{name}=={dist.version} (lock: {lock.get(name)})")
import torch
assert "+cpu" in torch.__version__, f"torch {torch.__version__} is not the CPU build"
if bad:
    raise SystemExit("binder-check: not the lock's versions: " + ", ".join(sorted(bad)))
print(f"binder-check: {count} packages, every one at the lock's version; torch {torch.__version__}")
PY
python -c "import kanlab, kanlab.kernels as k; print('binder-check: kanlab', kanlab.__version__, 'C kernels:', k.available())"

# 6. the notebooks, under nbval, inside that environment
say "test tools for the check only: nbval pytest pytest-timeout (lock versions)"
python -m pip install --quiet --disable-pip-version-check -c requirements/lock.txt nbval pytest pytest-timeout
say "pytest --nbval-lax $NOTEBOOKS"
# shellcheck disable=SC2086
python -m pytest -p no:cacheprovider --nbval-lax --nbval-current-env --nbval-cell-timeout=300 \
  -q $NOTEBOOKS
say "passed ($((SECONDS - start)) s after the copy)"
