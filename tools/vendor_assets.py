#!/usr/bin/env python3
"""Vendor the JavaScript the website serves from its own files instead of a CDN.

The widget manager (``@jupyter-widgets/html-manager``) and RequireJS come from the npm registry as
pinned tarballs, are checked against the registry's SHA-512 integrity strings recorded below, and
the needed files are written into ``vendor/widgets/`` (git-ignored), which ``_config.yml`` adds to
the site's static files. MathJax comes from the ``sphinx-mathjax-offline`` Python package.

Writes are atomic: a file appears in its final place only after its tarball verified, so an
interrupted run leaves no half-written asset. Already present files are kept (idempotent).
"""
from __future__ import annotations

import base64
import hashlib
import io
import os
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

REGISTRY = "https://registry.npmjs.org"
# (package, version, SHA-512 integrity from `npm view PKG@VERSION dist.integrity`, files to keep).
# A kept name ending in "/" keeps every file below it (the widget bundle loads its fonts from there).
ASSETS = [
    ("@jupyter-widgets/html-manager", "1.0.15",
     "sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
     ("package/dist/", "package/package.json")),
    ("requirejs", "2.3.8",
     "sha512-7/cTSLOdYkNBNJcDMWf+luFvMriVm7eYxp4BcFCsAX0wF421Vyce5SXP17c+Jd5otXKGNehIonFlyQXSowL6Mw==",
     ("package/require.js", "package/package.json")),
]
SKIP_SUFFIXES = (".map",)
# The widget bundle usually fetches its fonts from its module folder (``html-manager/dist/``), but
# on about one page load in ten it asks the CDN root (``@jupyter-widgets/``) instead, a 404 there
# (which load order triggers it was not pinned down). The fonts are also written to the CDN root,
# so either request finds them; tests/test_site.py checks both copies exist.
FONT_SUFFIXES = (".woff", ".woff2", ".ttf", ".eot")
LAYOUT = 2  # bump when the written tree changes, so an older vendored tree is rewritten


def tarball_url(package: str, version: str) -> str:
    return f"{REGISTRY}/{package}/-/{package.split('/')[-1]}-{version}.tgz"


def verify(blob: bytes, integrity: str) -> None:
    algo, _, expected = integrity.partition("-")
    if algo != "sha512":
        raise ValueError(f"unsupported integrity algorithm {algo!r} (only sha512)")
    actual = base64.b64encode(hashlib.sha512(blob).digest()).decode()
    if actual != expected:
        raise ValueError(f"integrity mismatch: expected sha512-{expected}, got sha512-{actual}")


def write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def vendor(dest: Path) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for package, version, integrity, keep in ASSETS:
        folder = dest / package  # a CDN-like tree: the widget bundle finds its fonts by that layout
        stamp = folder / f".complete-{version}-layout{LAYOUT}"
        if stamp.exists():
            continue
        url = tarball_url(package, version)
        with urllib.request.urlopen(url, timeout=60) as response:
            blob = response.read()
        verify(blob, integrity)
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
            for member in tar.getmembers():
                name = member.name
                wanted = any(name == k or (k.endswith("/") and name.startswith(k)) for k in keep)
                if not member.isfile() or not wanted or member.name.endswith(SKIP_SUFFIXES):
                    continue
                target = folder / member.name.removeprefix("package/")
                target.parent.mkdir(parents=True, exist_ok=True)
                data = tar.extractfile(member).read()
                write_atomic(target, data)
                written.append(target)
                if package.startswith("@jupyter-widgets/") and name.endswith(FONT_SUFFIXES):
                    mirror = folder.parent / target.name
                    write_atomic(mirror, data)
                    written.append(mirror)
        stamp.touch()  # only after every file of the package is in place
    return written


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else root / "vendor" / "widgets"
    for path in vendor(out):
        print(f"vendored {path.relative_to(root) if path.is_relative_to(root) else path}")
