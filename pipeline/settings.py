"""Typed settings: one validated model per ``params.yaml`` section.

``params.yaml`` is checked as a whole when it is loaded (:func:`validate_settings`), before any
stage runs: a wrong type, an unknown key or a value out of range is one line naming the key,
the value and what is allowed. Values are strict — the string ``"false"`` is not a boolean and
``"3"`` is not a number — so a quoted value never passes silently.

One section stays open: each ``sources.<name>`` section has the common keys ``enabled`` and
``root`` typed here and passes the rest to its adapter, which checks its own options. The
``caption`` section is typed here and then checked by the captioner's own settings
(:meth:`~eoinstruct.pipeline.caption.config.CaptionConfig.check`: a pinned ``revision`` when
enabled, request fields ``extra_body`` may not set, the ``launch`` keys), also at load time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from eoinstruct.pipeline.errors import ConfigError as ConfigError
from eoinstruct.pipeline.settings_cache import require as require


class Section(BaseModel):
    """Base of every section: strict types, no unknown keys, immutable."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    def as_dict(self) -> dict[str, Any]:
        """Return the section as plain data (for fingerprints and JSON)."""
        return self.model_dump(mode="json")


Fraction = Field(ge=0.0, le=1.0)


class PathsSettings(Section):
    """``paths``: where the stages read and write (relative to the working directory)."""

    sample: str = "data/sample"
    work: str = "data/work"
    corpus: str = "data/corpus"
    metrics: str = "metrics"


class ExecutorSettings(Section):
    """``executor``: where partitions run; outputs do not depend on it."""

    kind: Literal["inprocess", "local", "dask"] = "inprocess"
    workers: int = Field(default=2, ge=1)
    scheduler: str | None = None


class SampleDataSettings(Section):
    """``sample_data``: the seed of the embedded sample corpus."""

    seed: int


class SourceOptions(Section):
    """``sources.<name>``: the keys every source has; the rest goes to the adapter."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=True)

    enabled: bool = True
    root: str | None = None

    @model_validator(mode="after")
    def _root_when_enabled(self) -> SourceOptions:
        if self.enabled and not self.root:
            raise ValueError("an enabled source needs a root folder")
        return self


class IngestSettings(Section):
    """``ingest``: source units per partition."""

    partition_size: int = Field(ge=1)


class OsmSettings(Section):
    """``osm``: OpenStreetMap enrichment (:mod:`eoinstruct.pipeline.enrich.osm`)."""

    enabled: bool = True
    extract: str | None = None
    overpass_url: str | None = None
    timeout_s: float = Field(default=60.0, gt=0)
    rate_limit: bool = True
    tag_keys: list[str] | None = None
    max_values_per_key: int | None = Field(default=None, ge=1)
    # optional (the enrichment's own defaults apply when absent), so that a params.yaml
    # without an ``osm`` section validates
    min_overlap: float | None = Field(default=None, ge=0.0, le=1.0)
    min_inside: float | None = Field(default=None, ge=0.0, le=1.0)
    prefix: str | None = None
    feature_count: bool | None = None


class ScoreSettings(Section):
    """``score``: unit brightness levels of dark and saturated pixels."""

    dark_level: float = Fraction
    bright_level: float = Fraction


class BrightnessRange(Section):
    """Mean unit brightness a sample's images must lie within."""

    min: float
    max: float

    @model_validator(mode="after")
    def _ordered(self) -> BrightnessRange:
        if not 0 <= self.min < self.max <= 1:
            raise ValueError(f"need 0 <= min < max <= 1, not min {self.min} and max {self.max}")
        return self


class FilterSettings(Section):
    """``filter``: the triple filter's thresholds (see ``pipeline/quality/thresholds.py``)."""

    min_tags: int = Field(ge=0)
    min_valid_fraction: float = Fraction
    require_geolocation: bool
    exempt: dict[str, list[str]] = Field(default_factory=dict)
    brightness: dict[str, BrightnessRange]
    aoi: list[float] | None = Field(default=None, min_length=4, max_length=4)
    snow_cloud: Literal["drop", "keep"] = "drop"
    max_cloud_fraction: float = Field(default=0.1, ge=0.0, le=1.0)
    drop_degenerate: bool = True


SplitName = Literal["train", "validation", "test"]


def _default_fractions() -> dict[SplitName, float]:
    return {"train": 0.8, "validation": 0.1, "test": 0.1}


class SplitSettings(Section):
    """``dedup.splits``: geographic block splits."""

    block_km: float = Field(default=50.0, gt=0)
    fractions: dict[SplitName, float] = Field(default_factory=_default_fractions)
    keep_official: bool = True
    salt: str = "eoinstruct"
    same_place_m: float = Field(default=100.0, ge=0)

    @model_validator(mode="after")
    def _sum_to_one(self) -> SplitSettings:
        if any(v < 0 for v in self.fractions.values()):
            raise ValueError("split fractions must not be negative")
        if abs(sum(self.fractions.values()) - 1.0) > 1e-9:
            raise ValueError(f"split fractions must sum to 1, not {sum(self.fractions.values())}")
        return self


class DedupSettings(Section):
    """``dedup``: duplicate thresholds, source priority and splits."""

    near_max_distance: int = Field(ge=-1, le=31)
    place_time_m: float = Field(ge=0)
    source_priority: list[str] = Field(default_factory=list)
    splits: SplitSettings = Field(default_factory=SplitSettings)


class GenerateSettings(Section):
    """``generate``: template pairs (seed, box grid, limits, BigEarthNet class set)."""

    seed: int
    box_scale: int = Field(ge=1)
    max_boxes: int = Field(ge=1)
    class_set: Literal["ben19", "clc43"] = "ben19"


class AuditSettings(Section):
    """``audit``: how much the validate stage's audit may find before the build fails.

    The audit (:mod:`eoinstruct.pipeline.audit`) rejects every pair it flags; these limits
    say when the flags, or an unbalanced closed-answer template, fail the build instead.
    """

    max_flagged_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    max_flagged_rate_captioner: float = Field(default=0.5, ge=0.0, le=1.0)
    max_answer_share: float = Field(default=0.7, gt=0.0, le=1.0)
    balance_min_pairs: int = Field(default=30, ge=1)


class CaptionSettings(Section):
    """``caption``: the VLM captioner (``docs/captioner.md``; defaults as in ``CaptionConfig``)."""

    enabled: bool = False
    engine: Literal["vllm", "lmdeploy", "openai", "vllm_offline"] = "vllm"
    base_urls: list[str] | str = Field(default_factory=lambda: ["http://127.0.0.1:8000/v1"])
    model: str = "OpenGVLab/InternVL2-4B"
    revision: str = ""
    allow_unpinned_revision: bool = False
    api_key_env: str = ""
    concurrency: int = Field(default=128, ge=1)
    timeout_s: float = Field(default=120.0, gt=0)
    retries: int = Field(default=3, ge=0)
    backoff_s: float = Field(default=1.0, ge=0)
    max_failure_rate: float = Field(default=0.1, ge=0, le=1)
    circuit_breaker: int = Field(default=20, ge=0)
    temperature: float = Field(default=0.0, ge=0)
    top_p: float | None = Field(default=None, gt=0, le=1)
    max_tokens: int = Field(default=1024, ge=1)
    chars_per_token: float = Field(default=1.0, gt=0)
    seed: int = 0
    structured_output: bool = True
    max_dynamic_patch: int = Field(default=1, ge=0)
    prompt_template: str = "default"
    prompts_file: str = ""
    tag_policy_file: str = ""
    extra_body: dict[str, Any] = Field(default_factory=dict)
    sources: list[str] = Field(default_factory=lambda: ["skyscript", "satlas"])
    cache_dir: str = "data/cache/captioner"
    launch: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _captioner_checks(self) -> CaptionSettings:
        from eoinstruct.pipeline.caption.config import CaptionConfig

        CaptionConfig.from_mapping(self.as_dict())  # raises ConfigError (a ValueError)
        return self


class ShardSettings(Section):
    """``shard``: Parquet and WebDataset shard files."""

    row_group_size: int = Field(default=64, ge=1)
    compression: Literal["zstd", "snappy", "gzip", "brotli", "lz4", "none"] = "zstd"
    max_rows: int = Field(default=10_000, ge=1)
    max_bytes: int = Field(default=500_000_000, ge=1)
    raster_members: bool = True
    webdataset: bool = False


class EarthdialSettings(Section):
    """``earthdial``: the export for EarthDial's trainer."""

    out: str = "data/earthdial"
    image_tokens: Literal["after_tags", "first"] = "after_tags"
    repeat_time: dict[str, int] = Field(default_factory=lambda: {"default": 1})
    annotation_root: str | None = None


class BuildReportSettings(Section):
    """``build_report``: the HTML report's gallery."""

    seed: int = 0
    per_task: int = Field(default=3, ge=0)


class PublishSettings(Section):
    """``publish``: the Hugging Face Hub repository."""

    repo_id: str | None = None
    revision: str | None = None
    private: bool | None = None


class Settings(Section):
    """The whole ``params.yaml``."""

    paths: PathsSettings = Field(default_factory=PathsSettings)
    executor: ExecutorSettings = Field(default_factory=ExecutorSettings)
    sample_data: SampleDataSettings | None = None
    sources: dict[str, SourceOptions] = Field(default_factory=dict)
    ingest: IngestSettings | None = None
    osm: OsmSettings = Field(default_factory=OsmSettings)
    score: ScoreSettings | None = None
    filter: FilterSettings | None = None
    dedup: DedupSettings | None = None
    generate: GenerateSettings | None = None
    caption: CaptionSettings = Field(default_factory=CaptionSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    shard: ShardSettings = Field(default_factory=ShardSettings)
    earthdial: EarthdialSettings = Field(default_factory=EarthdialSettings)
    build_report: BuildReportSettings = Field(default_factory=BuildReportSettings)
    publish: PublishSettings = Field(default_factory=PublishSettings)


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc if not str(part).startswith("function-"))


def _describe(error: Mapping[str, Any]) -> str:
    where = _location(tuple(error.get("loc", ())))
    message = str(error.get("msg", "invalid value"))
    if error.get("type") == "extra_forbidden":
        return f"{where}: unknown key"
    if error.get("type") == "missing":
        return f"{where}: {message}"
    value = error.get("input")
    shown = repr(value) if not isinstance(value, Mapping) else "a mapping"
    return f"{where} = {shown[:80]}: {message}"


def validate_settings(raw: Mapping[str, Any], origin: str = "params.yaml") -> Settings:
    """Validate a whole parameters document.

    Args:
        raw: The parsed YAML document.
        origin: Where it came from, for messages.

    Returns:
        The typed settings.

    Raises:
        ConfigError: Naming every bad key with its value and what is allowed, one per line.
    """
    try:
        return Settings.model_validate(dict(raw))
    except ValidationError as exc:
        problems = [_describe(e) for e in exc.errors()]
        raise ConfigError(f"{origin}: " + "; ".join(problems)) from None


SectionT = TypeVar("SectionT", bound=Section)


def validate_section(model: type[SectionT], raw: Mapping[str, Any], name: str) -> SectionT:
    """Validate one section on its own (e.g. a mapping built in code or a test).

    Args:
        model: The section's model, e.g. :class:`FilterSettings`.
        raw: The section as plain data.
        name: Its name in ``params.yaml``, for messages.

    Returns:
        The typed section.

    Raises:
        ConfigError: Naming every bad key with its value and what is allowed.
    """
    try:
        return model.model_validate(dict(raw))
    except ValidationError as exc:
        problems = [_describe({**e, "loc": (name, *e.get("loc", ()))}) for e in exc.errors()]
        raise ConfigError("; ".join(problems)) from None
