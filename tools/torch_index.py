"""Print the pip option that takes torch from PyTorch's own wheel index, if that index answers.

    python tools/torch_index.py URL     ->  "--extra-index-url URL"  or nothing

The Makefile passes PyTorch's CPU-only index on Linux (``TORCH_INDEX``), so ``make lab`` downloads
the ~200 MB CPU wheel instead of PyPI's CUDA build (several GB). pip retries an unreachable index
for every package it looks up (about 8 s each), so the Makefile asks this script first: one HEAD
request with a short time-out. When the index does not answer (offline mirrors, firewalls), pip
runs without it and takes torch from the default index (or a local wheel), and this says so.
Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request


def reachable(url: str, timeout: float = 5.0) -> bool:
    """True when ``url`` answers an HTTP HEAD request (any status below 500) within ``timeout``."""
    request = urllib.request.Request(url, method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            return True
    except urllib.error.HTTPError as err:
        return err.code < 500
    except (OSError, ValueError):
        return False


def main(argv: list[str]) -> int:
    url = argv[1].rstrip("/") if len(argv) > 1 else ""
    if not url:
        return 0  # TORCH_INDEX= : the default index decides (macOS, or a deliberate override)
    if reachable(f"{url}/torch/"):
        print(f"--extra-index-url {url}")
    else:
        print(f"note: {url} does not answer; torch comes from the default index "
              "(on Linux that may be the CUDA build; TORCH_INDEX= silences this note)",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
