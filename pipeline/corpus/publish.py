r"""Publish the corpus folder to the Hugging Face Hub and check what arrived.

:func:`publish` (``eoinstruct publish --repo-id ORG/NAME``):

1. verifies the local folder against its ``manifest.json`` (nothing broken is uploaded);
2. with ``dry_run``, prints what would be uploaded (path, bytes, rows) and stops — no network;
3. creates the dataset repository (and the branch ``revision``) if needed and uploads the
   folder with huggingface_hub: ``HfApi.upload_large_folder`` where the installed version has
   it (0.25–1.x; resumable, several workers), otherwise ``HfApi.upload_folder``, which in
   huggingface_hub 2.x uploads through Xet in batches and resumes an interrupted upload when
   re-run (already committed files are skipped);
4. lists the remote files (``list_repo_tree``) and checks every manifest file is there with
   the same size and hash: the SHA-256 for files stored through LFS/Xet, the git blob id
   (SHA-1 of ``blob <size>\0<content>``) for small files.

Only the files the manifest lists are uploaded. WebDataset tars are among them when the
build wrote them (``shard.webdataset: true``) or ``eoinstruct webdataset`` wrote them into
``<corpus>/wds`` (it adds them to the manifest); otherwise the Hub gets the Parquet shards
alone, each image once, and the card tells users how to produce the tars from them.

The token comes from the ``HF_TOKEN`` environment variable or the local login
(``hf auth login``), resolved by huggingface_hub itself; this module never writes, logs or
prints it (an explicit ``token`` argument is passed straight to the client).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eoinstruct.pipeline.corpus.manifest import (
    MANIFEST_NAME,
    Verification,
    read_manifest,
    verify_manifest,
)
from eoinstruct.pipeline.run.fingerprint import file_sha256

REPO_TYPE = "dataset"
IGNORED_REMOTE = {".gitattributes"}
"""Files the Hub adds on its own."""


class PublishError(RuntimeError):
    """The corpus cannot be published, or the remote copy does not match the manifest."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of a remote listing.

    Attributes:
        path: Path in the repository.
        size: Size in bytes.
        sha256: SHA-256 of the content when the host reports it (LFS/Xet files).
        git_sha1: Git blob id (for files stored in git itself).
    """

    path: str
    size: int
    sha256: str | None = None
    git_sha1: str | None = None


@dataclass
class PublishResult:
    """What :func:`publish` did.

    Attributes:
        repo_id: The repository.
        files: Files (relative paths) uploaded or to upload, manifest included.
        bytes: Their total size.
        uploaded: Whether an upload was made (``False`` for a dry run).
        verification: The check of the remote listing (empty for a dry run).
    """

    repo_id: str
    files: list[str]
    bytes: int
    uploaded: bool
    verification: Verification = field(default_factory=Verification)


def git_blob_sha1(path: Path) -> str:
    """Return the git blob id of a file (what the Hub reports as ``blob_id``)."""
    digest = hashlib.sha1(usedforsecurity=False)
    digest.update(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def local_listing(folder: Path, lfs_threshold: int = 10 * 1024 * 1024) -> list[RemoteFile]:
    """List a local folder the way the Hub lists a repository (a stand-in for tests).

    Args:
        folder: The folder.
        lfs_threshold: Files at least this large report a SHA-256 (as LFS files do), smaller
            ones a git blob id.

    Returns:
        One entry per file, sorted by path.
    """
    out = []
    for path in sorted(Path(folder).rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(folder).as_posix()
        size = path.stat().st_size
        if size >= lfs_threshold:
            out.append(RemoteFile(rel, size, sha256=file_sha256(path)))
        else:
            out.append(RemoteFile(rel, size, git_sha1=git_blob_sha1(path)))
    return out


def hub_listing(api: Any, repo_id: str, revision: str | None = None) -> list[RemoteFile]:
    """List the files of a dataset repository on the Hub.

    Args:
        api: An ``HfApi`` (or an object with the same ``list_repo_tree``).
        repo_id: ``org/name``.
        revision: Branch, tag or commit (default: ``main``).

    Returns:
        One entry per file.
    """
    out = []
    for entry in api.list_repo_tree(
        repo_id, recursive=True, revision=revision, repo_type=REPO_TYPE
    ):
        if not hasattr(entry, "size") or getattr(entry, "blob_id", None) is None:
            continue  # a folder
        lfs = getattr(entry, "lfs", None)
        sha256 = None
        if lfs is not None:
            sha256 = lfs["sha256"] if isinstance(lfs, dict) else getattr(lfs, "sha256", None)
        out.append(
            RemoteFile(
                str(entry.path),
                int(entry.size),
                sha256=sha256,
                git_sha1=None if sha256 else str(entry.blob_id),
            )
        )
    return out


def verify_remote(folder: Path, listing: Iterable[RemoteFile]) -> Verification:
    """Check a remote listing against a local corpus folder's manifest.

    Every manifest file and the manifest itself must be listed with the same size and, where
    the listing reports one, the same SHA-256 or git blob id. Remote files the manifest does
    not know (stale shards of an earlier upload would silently join the configurations'
    globs) are reported as unexpected.

    Args:
        folder: The local corpus folder (its manifest is the reference).
        listing: The remote files.

    Returns:
        The comparison; see :attr:`Verification.ok`.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    expected: dict[str, dict[str, Any]] = dict(manifest["files"])
    manifest_path = folder / MANIFEST_NAME
    expected[MANIFEST_NAME] = {
        "bytes": manifest_path.stat().st_size,
        "sha256": file_sha256(manifest_path),
    }
    remote = {f.path: f for f in listing if f.path not in IGNORED_REMOTE}
    result = Verification()
    for rel, entry in sorted(expected.items()):
        got = remote.get(rel)
        if got is None:
            result.missing.append(rel)
            continue
        result.checked += 1
        if got.size != entry["bytes"]:
            result.mismatched[rel] = f"remote {got.size} bytes, manifest says {entry['bytes']}"
        elif got.sha256 is not None and got.sha256 != entry["sha256"]:
            result.mismatched[rel] = "remote SHA-256 differs"
        elif got.sha256 is None and got.git_sha1 is not None:
            local = folder / rel
            if not local.is_file() or git_blob_sha1(local) != got.git_sha1:
                result.mismatched[rel] = "remote git blob id differs"
    result.unexpected = sorted(set(remote) - set(expected))
    return result


def _default_api(token: str | None) -> Any:
    from huggingface_hub import HfApi

    return HfApi(token=token)


def publish(
    folder: Path,
    repo_id: str,
    *,
    token: str | None = None,
    dry_run: bool = False,
    revision: str | None = None,
    private: bool | None = None,
    api: Any = None,
    echo: Callable[[str], None] = print,
) -> PublishResult:
    """Upload a corpus folder to a Hub dataset repository and verify the result.

    Args:
        folder: The corpus folder (with ``manifest.json``).
        repo_id: ``org/name`` of the dataset repository.
        token: A Hub token; default: ``HF_TOKEN`` or the local login, resolved by
            huggingface_hub. Never printed or stored.
        dry_run: Only verify locally and print what would be uploaded.
        revision: Branch to upload to (created if missing); default ``main``.
        private: Visibility when the repository is created.
        api: The Hub client (default ``HfApi(token=token)``); tests pass a stand-in.
        echo: Where progress lines go.

    Returns:
        What was (or would be) uploaded and the remote verification.

    Raises:
        PublishError: If the local folder does not match its manifest, or the remote files
            do not match it after the upload.
    """
    folder = Path(folder)
    local = verify_manifest(folder)
    if not local.ok:
        raise PublishError(f"{folder} does not match its manifest: {local.describe()}")
    manifest = read_manifest(folder)
    files = [*sorted(manifest["files"]), MANIFEST_NAME]
    size = sum(int(e["bytes"]) for e in manifest["files"].values())
    size += (folder / MANIFEST_NAME).stat().st_size
    target = f"{repo_id}@{revision}" if revision else repo_id
    result = PublishResult(repo_id=repo_id, files=files, bytes=size, uploaded=False)
    if dry_run:
        for rel in files:
            entry = manifest["files"].get(rel, {})
            rows = entry.get("rows")
            rows_text = f", {rows} rows" if rows is not None else ""
            echo(f"would upload {rel} ({(folder / rel).stat().st_size} bytes{rows_text})")
        echo(f"dry run: {len(files)} files, {size} bytes to dataset {target}; nothing sent")
        return result
    client = api if api is not None else _default_api(token)
    client.create_repo(repo_id, repo_type=REPO_TYPE, exist_ok=True, private=private)
    if revision and revision != "main":
        client.create_branch(repo_id, branch=revision, repo_type=REPO_TYPE, exist_ok=True)
    echo(f"uploading {len(files)} files ({size} bytes) to dataset {target}")
    if hasattr(client, "upload_large_folder"):
        client.upload_large_folder(
            repo_id=repo_id,
            folder_path=str(folder),
            repo_type=REPO_TYPE,
            revision=revision,
            allow_patterns=files,
        )
    else:
        client.upload_folder(
            repo_id=repo_id,
            folder_path=str(folder),
            repo_type=REPO_TYPE,
            revision=revision,
            allow_patterns=files,
            commit_message=f"eoinstruct corpus ({len(files)} files)",
        )
    result.uploaded = True
    result.verification = verify_remote(folder, hub_listing(client, repo_id, revision))
    if not result.verification.ok:
        raise PublishError(
            f"dataset {target} does not match the manifest after the upload: "
            f"{result.verification.describe()}"
        )
    echo(f"verified: {result.verification.describe()} on dataset {target}")
    return result
