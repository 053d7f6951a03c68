"""MkDocs hooks of the docs site (``mkdocs.yml``: ``hooks``): Mermaid is served by the site itself, never by a CDN.

Material for MkDocs renders Mermaid diagrams with a script it loads from unpkg unless a global ``mermaid`` already
exists. Air-gapped readers and builders have no CDN, so the build adds one pinned Mermaid file to the site
(``extra_javascript`` loads it before Material looks): ``@mermaid-js/tiny`` from the npm registry (the Mermaid
project's own build without the lazily loaded diagram types; flowcharts and sequence diagrams included), whose
tarball is checked against the registry's published SHA-512 integrity before anything in it is used. The tarball is
fetched once into ``.docs-cache/`` (``make clean`` removes it) and checked again at every build; the registry is
``$npm_config_registry`` when set (a mirror), else registry.npmjs.org. Nothing multi-megabyte is committed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tarfile
import urllib.request
from pathlib import Path
from typing import Any

MERMAID_PACKAGE = "@mermaid-js/tiny"
MERMAID_VERSION = "11.17.2"
MERMAID_INTEGRITY = "sha512-PmFr1c5cSfNf5AngLLR98DrbvR4U5KeD7I+hQkGqG5w5Veu3QT4dG0qu9f99cpn/sKj2XxRBK0q7EL6hr9NY/A=="
MERMAID_MEMBER = "package/dist/mermaid.tiny.js"
SITE_PATH = "assets/javascripts/mermaid.tiny.js"
"""Where the script lands in the site; ``mkdocs.yml``'s ``extra_javascript`` names the same path."""

CACHE = Path(__file__).resolve().parent.parent / ".docs-cache"
DEFAULT_REGISTRY = "https://registry.npmjs.org/"


class MermaidFetchError(RuntimeError):
    """The pinned Mermaid tarball could not be had, or is not the one the integrity hash names."""


def integrity_of(data: bytes) -> str:
    """Return the Subresource Integrity string (``sha512-<base64>``) npm publishes for a tarball."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def tarball_url(registry: str) -> str:
    """Return the registry's URL of the pinned tarball (``{registry}/@scope/name/-/name-version.tgz``)."""
    name = MERMAID_PACKAGE.split("/")[-1]
    return f"{registry.rstrip('/')}/{MERMAID_PACKAGE}/-/{name}-{MERMAID_VERSION}.tgz"


def mermaid_script(cache: Path = CACHE, *, integrity: str = MERMAID_INTEGRITY) -> bytes:
    """Return the pinned ``mermaid.tiny.js``, from the cached tarball or fetched once, checked against ``integrity``.

    :raises MermaidFetchError: the tarball cannot be fetched, or its hash is not ``integrity`` (a cached copy that
        fails the check is deleted, so the next build fetches it again).
    """
    tarball = cache / f"mermaid-tiny-{MERMAID_VERSION}.tgz"
    if not tarball.exists():
        registry = os.environ.get("npm_config_registry")  # noqa: SIM112 - npm's own (lower-case) name for a mirror
        url = tarball_url(registry or DEFAULT_REGISTRY)
        try:
            with urllib.request.urlopen(url, timeout=120) as response:
                data = response.read()
        except OSError as error:
            raise MermaidFetchError(f"cannot fetch {MERMAID_PACKAGE}@{MERMAID_VERSION} from {url}: {error}") from error
        cache.mkdir(parents=True, exist_ok=True)
        partial = tarball.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(tarball)
    data = tarball.read_bytes()
    found = integrity_of(data)
    if found != integrity:
        tarball.unlink()
        raise MermaidFetchError(
            f"{tarball.name}: integrity {found} is not the pinned {integrity}; the file was deleted, build again"
        )
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        member = archive.extractfile(MERMAID_MEMBER)
        if member is None:
            raise MermaidFetchError(f"{tarball.name} has no {MERMAID_MEMBER}")
        return member.read()


def on_files(files: Any, config: Any) -> Any:
    """Add the pinned Mermaid script to the site's files (MkDocs event ``on_files``)."""
    from mkdocs.structure.files import File

    files.append(File.generated(config, SITE_PATH, content=mermaid_script()))
    return files
