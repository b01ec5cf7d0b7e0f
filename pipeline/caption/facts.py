"""What a captioner prompt says about a sample: only facts an overhead image can show.

A per-key policy (``templates/captioner/tag_policy.yaml``, data: :class:`TagPolicy`) decides
which tags reach the prompt and how they read. :func:`scene_facts` applies it to a sample:

- the image line: the modality as a noun phrase with its article ("an RGB image", "a
  false-colour rendering of a radar (SAR) image…"), the sensor and the GSD;
- the source's own map tags (SkyScript's ``center:`` and ``surrounding:`` tags): values of
  the policy's keys as readable phrases ("residential street", "sports pitch"), never their
  counts; qualifying keys (``crop``, ``surface``…) for the focus feature only;
- the enrich stage's ``osm:`` tags only by the policy's rule (``agree``: a value the source's
  own tags also hold; ``none``), since they carry no share of the footprint;
- scene classes, labelled objects on the captioned image with their numbers (line features
  are listed without a number), categories annotated as absent, visible conditions (snow,
  smoke).

Everything else (identifiers, element types, imagery source, dates, counts of surrounding
objects, the source's own captions) is never shown.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from eoinstruct.pipeline.config import safe_load_yaml
from eoinstruct.pipeline.instructions.grammar import article, count_phrase, natural_case, plural
from eoinstruct.pipeline.records import ImageRef, Sample
from eoinstruct.templates import TEMPLATE_DIR

POLICY_FILE = TEMPLATE_DIR / "captioner" / "tag_policy.yaml"
"""Default tag policy file (package data)."""

MAX_ITEMS = 10
"""Most phrases shown per group of facts."""

_PLAIN_VALUE = re.compile(r"^[a-z][a-z_ -]{0,39}$")
"""Tag values shown through a key's ``default`` phrase: lower-case words (no names, numbers)."""

_COUNTED_SUFFIX = re.compile(r"\s*\(\d+\)$")
_LINE_WKT = ("LINESTRING", "MULTILINESTRING")
_GROUPS = ("focus", "other")


class PolicyError(ValueError):
    """The tag policy file is malformed."""


@dataclass(frozen=True)
class KeyPolicy:
    """How the values of one OSM key read.

    Attributes:
        default: Phrase of a value not in ``values`` (``{value}``: the value in natural
            case); empty: such values are not shown.
        values: Phrases of given values (an empty phrase hides the value).
    """

    default: str
    values: Mapping[str, str]

    def phrase(self, value: str) -> str:
        """Return the phrase of a value, or ``""`` when it is not shown."""
        value = value.strip()
        if value in self.values:
            return self.values[value]
        if not self.default or not _PLAIN_VALUE.match(value):
            return ""
        return self.default.format(value=natural_case(value))


@dataclass(frozen=True)
class TagPolicy:
    """The tag policy (see the header of ``tag_policy.yaml`` for each section)."""

    headings: Mapping[str, str]
    modalities: Mapping[str, str]
    sources: Mapping[str, str]
    enriched_prefix: str
    enriched_rule: str
    keys: Mapping[str, KeyPolicy]
    attributes: Mapping[str, str]
    object_default: str
    object_phrases: Mapping[str, str]
    uncounted: frozenset[str]
    properties: Mapping[str, Mapping[str, str]]
    absent_property: str


def _mapping(doc: Mapping[str, Any], name: str, path: Path) -> Mapping[str, Any]:
    value = doc.get(name)
    if not isinstance(value, Mapping):
        raise PolicyError(f"{path}: '{name}' must be a mapping")
    return value


def _strings(value: object, where: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise PolicyError(f"{where}: expected a mapping of strings")
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


@functools.lru_cache(maxsize=8)
def load_policy(path: str = "") -> TagPolicy:
    """Load and check a tag policy.

    Args:
        path: The YAML file (default :data:`POLICY_FILE`).

    Returns:
        The policy.

    Raises:
        PolicyError: If the file is malformed.
    """
    file = Path(path) if path else POLICY_FILE
    try:
        doc = safe_load_yaml(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError(f"{file}: {exc}") from exc
    if not isinstance(doc, Mapping):
        raise PolicyError(f"{file}: not a mapping")
    headings = _strings(_mapping(doc, "headings", file), f"{file}: headings")
    missing = {"image", "image_no_gsd", "focus", "other", "classes", "objects", "absent",
               "conditions"} - set(headings)  # fmt: skip
    if missing:
        raise PolicyError(f"{file}: headings lacks {sorted(missing)}")
    sources = _strings(_mapping(doc, "sources", file), f"{file}: sources")
    if not set(sources.values()) <= set(_GROUPS):
        raise PolicyError(f"{file}: sources must map prefixes to {_GROUPS}")
    enriched = _strings(_mapping(doc, "enriched", file), f"{file}: enriched")
    if enriched.get("rule") not in ("agree", "none") or not enriched.get("prefix"):
        raise PolicyError(f"{file}: enriched needs a prefix and rule 'agree' or 'none'")
    keys: dict[str, KeyPolicy] = {}
    for key, entry in _mapping(doc, "keys", file).items():
        if not isinstance(entry, Mapping):
            raise PolicyError(f"{file}: keys.{key} must be a mapping")
        keys[str(key)] = KeyPolicy(
            default=str(entry.get("default") or ""),
            values=_strings(entry.get("values") or {}, f"{file}: keys.{key}.values"),
        )
    objects = _mapping(doc, "objects", file)
    properties = {
        str(name): _strings(values, f"{file}: properties.{name}")
        for name, values in _mapping(doc, "properties", file).items()
    }
    return TagPolicy(
        headings=headings,
        modalities=_strings(_mapping(doc, "modalities", file), f"{file}: modalities"),
        sources=sources,
        enriched_prefix=enriched["prefix"],
        enriched_rule=enriched["rule"],
        keys=keys,
        attributes=_strings(_mapping(doc, "attributes", file), f"{file}: attributes"),
        object_default=str(objects.get("default") or "{category}"),
        object_phrases=_strings(objects.get("phrases") or {}, f"{file}: objects.phrases"),
        uncounted=frozenset(str(c) for c in objects.get("uncounted") or ()),
        properties=properties,
        absent_property=str(doc.get("absent") or ""),
    )


@dataclass(frozen=True)
class SceneFacts:
    """The facts of one sample's prompt, each group a tuple of phrases.

    Attributes:
        image: The image line (modality, sensor, GSD).
        focus: The main mapped feature and its qualifiers.
        other: Other mapped features in the image.
        classes: Scene classes.
        objects: Labelled objects with their numbers.
        absent: Categories annotated as absent.
        conditions: Visible conditions (snow, smoke).
    """

    image: str
    focus: tuple[str, ...] = ()
    other: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    objects: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()

    def render(self, headings: Mapping[str, str]) -> str:
        """Return the facts as prompt lines: the image line, then ``- <heading>: a; b``."""
        lines = [self.image]
        for group in ("focus", "other", "classes", "objects", "absent", "conditions"):
            items: tuple[str, ...] = getattr(self, group)
            if items:
                lines.append(f"- {headings[group]}: {'; '.join(items)}")
        return "\n".join(lines)


def _dedupe(items: list[str], seen: set[str]) -> tuple[str, ...]:
    out: list[str] = []
    for item in items:
        if item and item not in seen:
            seen.add(item)
            out.append(item)
    return tuple(out[:MAX_ITEMS])


def _values(text: str) -> list[str]:
    """Split a tag value into values (``a;b``, or a summary ``a (3); b (1); +2 more``)."""
    parts = [_COUNTED_SUFFIX.sub("", p).strip() for p in str(text).split(";")]
    return [p for p in parts if p and not p.startswith("+")]


def image_line(sample: Sample, policy: TagPolicy) -> str:
    """Return the image line of a prompt (modality, sensor, GSD; no dates, no ids)."""
    noun = policy.modalities.get(sample.modality, f"{sample.modality} image")
    sensor = sample.sensor if sample.sensor and not sample.sensor.startswith("unknown") else ""
    modality = article(noun)
    if sample.gsd_m:
        # the instruction builders (pairs' import) only when a prompt is written
        from eoinstruct.pipeline.instructions.pairs import format_gsd

        form = policy.headings["image"]
        line = form.format(modality=modality, sensor=sensor, gsd=f"{format_gsd(sample.gsd_m)} m")
    else:
        line = policy.headings["image_no_gsd"].format(modality=modality, sensor=sensor)
    return line.replace(" ()", "")


def map_facts(tags: Mapping[str, str], policy: TagPolicy) -> tuple[list[str], list[str]]:
    """Return the focus and other phrases of a sample's map tags, by the policy.

    Args:
        tags: The sample's tags.
        policy: The tag policy.

    Returns:
        ``(focus, other)`` phrases, in tag order, before de-duplication.
    """
    groups: dict[str, list[str]] = {"focus": [], "other": []}
    qualifiers: list[str] = []
    own: set[tuple[str, str]] = set()
    for prefix, group in policy.sources.items():
        for name, text in sorted(tags.items()):
            if not name.startswith(prefix):
                continue
            key = name[len(prefix) :]
            values = _values(text)
            own.update((key, v) for v in values)
            if key in policy.keys:
                groups[group] += [policy.keys[key].phrase(v) for v in values]
            elif key in policy.attributes and group == "focus":
                shown = [natural_case(v) for v in values if _PLAIN_VALUE.match(v)]
                if shown:
                    qualifiers.append(f"{policy.attributes[key]}: {', '.join(shown)}")
    if policy.enriched_rule == "agree":
        prefix = policy.enriched_prefix
        for name, text in sorted(tags.items()):
            key = name[len(prefix) :] if name.startswith(prefix) else ""
            if key in policy.keys:
                agreeing = [v for v in _values(text) if (key, v) in own]
                groups["other"] += [policy.keys[key].phrase(v) for v in agreeing]
    return groups["focus"] + qualifiers, groups["other"]


def _object_facts(sample: Sample, image: ImageRef, policy: TagPolicy) -> list[str]:
    counts: dict[str, int] = {}
    lines: set[str] = set()
    for ob in sample.labels.objects:
        if ob.image_role != image.role:
            continue
        form = policy.object_phrases.get(ob.category, policy.object_default)
        phrase = " ".join(
            natural_case(form.format(category=ob.category, attribute=ob.attribute)).split()
        )
        counts[phrase] = counts.get(phrase, 0) + 1
        if ob.category in policy.uncounted or ob.polygon_wkt.upper().startswith(_LINE_WKT):
            lines.add(phrase)
    ranked = sorted(counts.items(), key=lambda kv: (kv[0] in lines, -kv[1], kv[0]))
    return [plural(p) if p in lines else count_phrase(n, p) for p, n in ranked]


def _property_facts(
    sample: Sample, image: ImageRef, policy: TagPolicy
) -> tuple[list[str], list[str]]:
    conditions: list[str] = []
    absent: list[str] = []
    for name, value in sorted(sample.labels.properties.items()):
        base, _, role = name.partition(":")
        if role and role != image.role:
            continue
        if base == policy.absent_property:
            absent += [plural(natural_case(c)) for c in str(value).split(",") if c.strip()]
        elif base in policy.properties:
            conditions.append(policy.properties[base].get(str(value), ""))
    return conditions, absent


def scene_facts(sample: Sample, image: ImageRef, policy: TagPolicy | None = None) -> SceneFacts:
    """Return what a prompt may say about a sample shown as ``image``.

    Args:
        sample: The sample.
        image: The image sent with the prompt (objects and conditions of other images are
            left out).
        policy: The tag policy (default: :func:`load_policy`).

    Returns:
        The facts.
    """
    policy = policy or load_policy()
    focus, other = map_facts(sample.tags, policy)
    seen: set[str] = set()
    conditions, absent = _property_facts(sample, image, policy)
    return SceneFacts(
        image=image_line(sample, policy),
        focus=_dedupe(focus, seen),
        other=_dedupe(other, seen),
        classes=_dedupe([natural_case(c) for c in sample.labels.classes], set()),
        objects=tuple(_object_facts(sample, image, policy)[:MAX_ITEMS]),
        absent=_dedupe(absent, set()),
        conditions=_dedupe(conditions, set()),
    )
