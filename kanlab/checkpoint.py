"""Reading kanlab checkpoints safely: ``weights_only=True`` and clear errors for foreign files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch


class CheckpointError(ValueError):
    """A file that is not a readable kanlab checkpoint (wrong kind, truncated, or too new)."""


def read_checkpoint(
    path: str | Path, map_location: Any, expected_format: str, max_version: int
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Return (config, state_dict) from a checkpoint written by ``KAN.save``.

    Loads with ``torch.load(weights_only=True)``, so no pickled code can run.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {str(path)!r}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # foreign bytes make torch raise many kinds (IndexError, KeyError, ...)
        raise CheckpointError(
            f"{str(path)!r} is not a readable kanlab checkpoint (truncated or another kind of file): {exc}"
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != expected_format:
        raise CheckpointError(f"{str(path)!r} is not a kanlab checkpoint (no {expected_format!r} marker)")
    version = payload.get("version")
    if not isinstance(version, int) or version > max_version:
        raise CheckpointError(
            f"{str(path)!r} has checkpoint format version {version!r}; this kanlab reads versions "
            f"up to {max_version}. Upgrade kanlab to load it."
        )
    try:
        config = json.loads(payload["config"])
        state = payload["state_dict"]
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{str(path)!r} is a damaged kanlab checkpoint: {exc}") from exc
    return config, state
