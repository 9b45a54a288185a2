"""A tiny, offline kustomize renderer for this repository's ``k8s/`` tree (needs PyYAML).

It implements only what ``k8s/`` uses, and fails on anything else rather than guess:

- ``resources``: YAML files (multi-document) and directories holding a ``kustomization.yaml``;
- ``images``: ``name`` -> ``newName`` / ``newTag`` / ``digest`` on container images;
- ``patches`` (``path`` only) and ``patchesStrategicMerge``: strategic merge patches, matched
  to a resource by kind and metadata.name. Merge rules (Kubernetes' strategic merge): maps
  merge recursively, ``null`` deletes a key, lists of containers, env, volumes, ports and
  volumeMounts merge by their merge key (name / containerPort / mountPath), other lists are
  replaced.

``kubectl kustomize`` (real kustomize) is the reference: ``scripts/validate-k8s.sh`` renders
with both when kubectl is installed and requires the same objects.

    python scripts/render_k8s.py k8s/overlays/gpu > gpu.yaml
    python scripts/render_k8s.py --compare a.yaml b.yaml     # same objects, any order
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path
from typing import Any

import yaml

Obj = dict[str, Any]

KNOWN_KEYS = {
    "apiVersion",
    "kind",
    "resources",
    "images",
    "patches",
    "patchesStrategicMerge",
}
# Strategic-merge keys of the list fields k8s/ patches (from the Kubernetes API types).
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
    "imagePullSecrets": "name",
}


class RenderError(Exception):
    """The kustomization uses something this renderer does not implement, or is invalid."""


def load_docs(path: Path) -> list[Obj]:
    with path.open() as fh:
        return [d for d in yaml.safe_load_all(fh) if d is not None]


def render(directory: Path) -> list[Obj]:
    """The objects ``kustomize build DIRECTORY`` would output (order aside)."""
    kfile = directory / "kustomization.yaml"
    if not kfile.is_file():
        raise RenderError(f"{directory}: no kustomization.yaml")
    spec = yaml.safe_load(kfile.read_text()) or {}
    unknown = set(spec) - KNOWN_KEYS
    if unknown:
        raise RenderError(
            f"{kfile}: unsupported fields {sorted(unknown)}; known {sorted(KNOWN_KEYS)}"
        )
    objects: list[Obj] = []
    for entry in spec.get("resources", []):
        target = directory / entry
        objects.extend(render(target) if target.is_dir() else load_docs(target))
    patch_files = [p["path"] for p in spec.get("patches", [])]
    for p in spec.get("patches", []):
        if set(p) != {"path"}:
            raise RenderError(f"{kfile}: only `patches: - path: FILE` is supported, got {p}")
    patch_files += list(spec.get("patchesStrategicMerge", []))
    for name in patch_files:
        for patch in load_docs(directory / name):
            apply_patch(objects, patch, where=f"{directory / name}")
    for image in spec.get("images", []):
        set_image(objects, image)
    return objects


def apply_patch(objects: list[Obj], patch: Obj, *, where: str) -> None:
    kind, name = patch.get("kind"), patch.get("metadata", {}).get("name")
    matches = [o for o in objects if o.get("kind") == kind and o["metadata"].get("name") == name]
    if len(matches) != 1:
        raise RenderError(f"{where}: patch for {kind}/{name} matches {len(matches)} objects")
    merged = strategic_merge(matches[0], patch)
    objects[objects.index(matches[0])] = merged


def strategic_merge(base: Any, patch: Any, field: str = "") -> Any:
    """Merge ``patch`` into a copy of ``base`` with the rules in the module docstring."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = copy.deepcopy(base)
        for key, value in patch.items():
            if value is None:
                out.pop(key, None)
            elif key in out:
                out[key] = strategic_merge(out[key], value, key)
            else:
                out[key] = copy.deepcopy(value)
        return out
    if isinstance(base, list) and isinstance(patch, list) and field in MERGE_KEYS:
        key = MERGE_KEYS[field]
        out_list = copy.deepcopy(base)
        for item in patch:
            idx = next((i for i, b in enumerate(out_list) if b.get(key) == item.get(key)), None)
            if idx is None:
                out_list.append(copy.deepcopy(item))
            else:
                out_list[idx] = strategic_merge(out_list[idx], item, field)
        return out_list
    return copy.deepcopy(patch)


def set_image(objects: list[Obj], image: Obj) -> None:
    name = image["name"]
    for obj in objects:
        pod = obj.get("spec", {}).get("template", {}).get("spec", {})
        for container in pod.get("containers", []) + pod.get("initContainers", []):
            current = container.get("image", "")
            base = current.split("@")[0].rsplit(":", 1)[0] if ":" in current else current
            if base != name:
                continue
            new = image.get("newName", name)
            if "digest" in image:
                container["image"] = f"{new}@{image['digest']}"
            else:
                tag = image.get("newTag", current[len(base) + 1 :] if ":" in current else "")
                container["image"] = f"{new}:{tag}" if tag else new


def canonical(objects: list[Obj]) -> list[Obj]:
    """Objects sorted by (kind, name), with env lists sorted by name (order is not meaning)."""

    def norm(value: Any, field: str = "") -> Any:
        if isinstance(value, dict):
            return {k: norm(v, k) for k, v in sorted(value.items())}
        if isinstance(value, list):
            items = [norm(v, field) for v in value]
            if field in MERGE_KEYS and all(isinstance(i, dict) for i in items):
                items.sort(key=lambda i: str(i.get(MERGE_KEYS[field])))
            return items
        return value

    return sorted((norm(o) for o in objects), key=lambda o: (o["kind"], o["metadata"]["name"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--compare", action="store_true", help="compare two rendered files")
    args = parser.parse_args(argv)
    try:
        if args.compare:
            if len(args.paths) != 2:
                parser.error("--compare takes two files")
            a, b = (canonical(load_docs(p)) for p in args.paths)
            if a != b:
                for x, y in zip(a, b, strict=False):
                    if x != y:
                        print(f"differs: {x['kind']}/{x['metadata']['name']}", file=sys.stderr)
                print(f"{args.paths[0]} and {args.paths[1]} differ", file=sys.stderr)
                return 1
            return 0
        objects: list[Obj] = []
        for path in args.paths:
            objects.extend(render(path))
    except (RenderError, OSError, KeyError, yaml.YAMLError) as exc:
        print(f"render_k8s: {exc}", file=sys.stderr)
        return 2
    yaml.safe_dump_all(canonical(objects), sys.stdout, sort_keys=True, default_flow_style=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
