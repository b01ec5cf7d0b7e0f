"""The audit: generic checks (no false alarms, slips caught), the report, the stage, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from eoinstruct.cli import main
from eoinstruct.pipeline.audit import report as report_module
from eoinstruct.pipeline.audit.checks import generic_problems, is_yes_no_question
from eoinstruct.pipeline.audit.corpus import audit_corpus
from eoinstruct.pipeline.audit.item import AuditItem, from_corpus_row, from_pair
from eoinstruct.pipeline.audit.report import (
    AuditError,
    AuditReport,
    TemplateInfo,
    answer_value,
    audit_items,
)
from eoinstruct.pipeline.config import ConfigError
from eoinstruct.pipeline.instructions.builders import GenerationConfig
from eoinstruct.pipeline.records import ImageRef, InstructionPair, Labels, Sample, Turn
from eoinstruct.pipeline.run.runner import ItemDropped, Ledger
from eoinstruct.pipeline.settings import AuditSettings, validate_settings
from eoinstruct.pipeline.stages.validate import ValidateStep, write_audit

ACQUIRED = ("2023-07-28T17:00:00Z",)


def item(
    question: str,
    answer: str,
    style: str = "terse",
    *,
    template_id: str = "t1",
    sample_id: str = "s1",
    generator: str = "template/2",
    paraphrase_id: int = 0,
    **extra: object,
) -> AuditItem:
    fields: dict[str, object] = {
        "pair_id": f"{sample_id}|{template_id}|{question}|{answer}",
        "sample_id": sample_id,
        "source": "src",
        "task": "vqa",
        "template_id": template_id,
        "generator": generator,
        "answer_style": style,
        "image_roles": ("image",),
        "questions": (question,),
        "answers": (answer,),
        "labels": Labels(),
        "acquired": ACQUIRED,
        "sensor": "Landsat 9 OLI-2/TIRS-2",
        "tags": {"platform": "LANDSAT_9"},
        "paraphrase_id": paraphrase_id,
    }
    fields.update(extra)
    return AuditItem(**fields)  # type: ignore[arg-type]


# Ordinary phrasings of every kind the templates and the captioner write: none is a problem.
ORDINARY = [
    ("Is there any forest in this image? Answer yes or no.", "Yes", "terse"),
    ("Is this an urban or a rural area? Reply in one word.", "rural", "terse"),
    ("Is there a methane plume in this image?", "No", "terse"),
    ("Can you list the objects in this image?", "A road, an airport and 3 buildings.", "sentence"),
    ("Could you describe the scene?", "An orchard beside a river.", "sentence"),
    ("How many buildings are there?", "There is 1 building.", "sentence"),
    ("How many buildings are there?", "There are no buildings.", "sentence"),
    ("How many buildings changed?", "2 of the 6 buildings were destroyed.", "sentence"),
    ("How many wind turbines are there?", "There are three wind turbines.", "sentence"),
    ("What is here?", "One of the buildings is a school.", "sentence"),
    ("What is here?", "An urban area, an hour's walk from a university.", "sentence"),
    ("What is here?", "A SAR backscatter of an NDVI-like pattern, a one-way road.", "sentence"),
    ("What is here?", "The 2 class names are shown; 3 building footprints appear.", "sentence"),
    ("Which classes? Choose from: Urban fabric; Arable land; Pastures.", "Arable land", "terse"),
    ("Which land-cover classes are present?", "Arable land; Pastures", "terse"),
    ("Which classes from Urban fabric; Arable land; Pastures appear?", "Pastures", "terse"),
    ("Describe the land cover.", "Coniferous forest covers most of it, with pastures.", "sentence"),
    ("How large is the plume?", "The plume covers about 2,682 m², 7.3 % of the image.", "sentence"),
    ("What is the temperature?", "The mean is 0 °C, ranging between 0 and 5 °C.", "sentence"),
    (
        "Where are the roads?",
        "<ref>roads</ref><box>[[0, 0, 10, 10, 0]][[1, 1, 2, 2, 0]]</box>",
        "terse",
    ),
    ("Where is the pier?", "The pier is at <box>[[4, 5, 9, 8, 0]]</box>.", "sentence"),
    ("Did the event damage buildings?", "Yes, 3 buildings were destroyed.", "explanatory"),
    ("Was this area struck by an earthquake?", "No. The two images show no change.", "explanatory"),
    ("Do you know how many buildings got damaged?", "Four damaged buildings.", "terse"),
    (
        "Were any of them destroyed? Where are they?",
        "<ref>destroyed buildings</ref><box>[[1, 2, 3, 4, 0]]</box>",
        "terse",
    ),
    ("Were any destroyed outright? Please locate them.", "None of them was destroyed.", "sentence"),
    (
        "Were the buildings affected? Describe the change.",
        "Six of the eight buildings were damaged.",
        "sentence",
    ),
    ("Is the building in [[1, 2, 3, 4, 0]] damaged?", "No, it has no damage.", "sentence"),
    ("Are any buildings destroyed? If so, how many?", "Yes: 2 destroyed buildings.", "terse"),
    (
        "Which satellite, Sentinel-2 or Landsat 8, took this Sentinel-2 image?",
        "Sentinel-2.",
        "sentence",
    ),
    (
        "What changed between 2019-06-01 and 2019-07-01?",
        "By 2019-07-01 the field was harvested.",
        "sentence",
    ),
    ("How strong is the emission?", "strong", "terse"),
    ("What magnitude class was the earthquake?", "It was of moderate magnitude.", "sentence"),
    (
        "What does the image show?",
        "A satellite image of a forest; a road and a building nearby.",
        "sentence",
    ),
    ("What does this band show?", "Band 4 pixels are bright in level 1 images.", "sentence"),
    ("Which option fits?", "Option a or b.", "sentence"),
    ("What is the water body?", "It is a lake of 1 km² with one island.", "sentence"),
    ("What happened here?", "Had had floods; that that road crossed.", "sentence"),
    ("Which land uses are mapped?", "farmland and forest", "terse"),
    ("Were any destroyed?", "Yes, both were destroyed; all 12 others stand.", "sentence"),
    ("How many?", "12", "terse"),
]

# Real slips, each with the code that must be raised.
SLIPS = [
    ("Is there any Pastures in this image?", "Yes", "terse", "grammar:any_capitalised"),
    ("Can Agro-forestry areas be seen here?", "No", "terse", "grammar:capitalised_class"),
    (
        "What is here?",
        "The patch shows Coniferous forest.",
        "sentence",
        "grammar:capitalised_class",
    ),
    ("Is there forest?", "forest", "terse", "yes_no_unanswered"),
    ("Does the image show water?", "The image shows water.", "sentence", "yes_no_unanswered"),
    (
        "Is there a heat island? Answer in one sentence.",
        "The mean is 3 °C.",
        "sentence",
        "yes_no_unanswered",
    ),
    ("What is here?", "A urban area.", "sentence", "grammar:article"),
    ("What is here?", "It is an road.", "sentence", "grammar:article"),
    ("How many?", "1 buildings.", "terse", "grammar:number_agreement"),
    ("How many?", "There are 3 building.", "sentence", "grammar:number_agreement"),
    ("How many?", "There are two wind turbine.", "sentence", "grammar:number_agreement"),
    (
        "How many?",
        "There are 2 damaged building in the area.",
        "sentence",
        "grammar:number_agreement",
    ),
    ("How many?", "There are 0 buildings.", "sentence", "grammar:zero_count"),
    ("What happened?", "1 destroyed, 0 major damage.", "terse", "grammar:zero_count"),
    ("What is here?", "The the forest.", "sentence", "grammar:doubled_word"),
    ("Were any destroyed?", "Yes, all two were destroyed.", "sentence", "grammar:all_two"),
    ("What is here?", "the forest is visible.", "sentence", "grammar:sentence_start"),
    ("What is here?", "The forest is visible", "explanatory", "grammar:sentence_end"),
    ("Which satellite took this?", "Sentinel-2A.", "sentence", "metadata_answer:platform"),
    (
        "Describe the scene.",
        "A Sentinel-1 C-SAR patch of arable land.",
        "sentence",
        "metadata_answer:platform",
    ),
    ("Describe the scene.", "WorldView-3 view of a port.", "sentence", "metadata_answer:platform"),
    (
        "Describe the scene.",
        "A Landsat 9 OLI-2/TIRS-2 view.",
        "sentence",
        "metadata_answer:platform",
    ),
    ("When was it taken?", "It was acquired on 2023-07-28.", "sentence", "metadata_answer:date"),
    ("When was it taken?", "It was acquired on 28 July 2023.", "sentence", "metadata_answer:date"),
    ("When was it taken?", "In July 2023.", "sentence", "metadata_answer:date"),
    ("How strong?", "strong (about 6957 kg/h)", "terse", "metadata_answer:emission_rate"),
    ("How strong?", "moderate (M 5.3)", "terse", "metadata_answer:magnitude"),
    ("How strong?", "A magnitude 7.1 earthquake struck.", "sentence", "metadata_answer:magnitude"),
]


@pytest.mark.parametrize("question, answer, style", ORDINARY)
def test_ordinary_phrasings_raise_nothing(question: str, answer: str, style: str) -> None:
    assert generic_problems(item(question, answer, style)) == []


@pytest.mark.parametrize("question, answer, style, code", SLIPS)
def test_real_slips_are_caught(question: str, answer: str, style: str, code: str) -> None:
    assert code in generic_problems(item(question, answer, style))


def test_a_fact_given_by_an_earlier_question_may_be_restated() -> None:
    dialogue = item(
        "This Sentinel-2 image was taken on 2023-07-28. What does it show?",
        "Forest.",
        questions=(
            "This Sentinel-2 image was taken on 2023-07-28. What does it show?",
            "When was it taken?",
        ),
        answers=("Forest.", "The Sentinel-2 image was taken on 2023-07-28."),
    )
    assert generic_problems(dialogue) == []


@pytest.mark.parametrize(
    "question, expected",
    [
        ("Is there a road? Answer yes or no.", True),
        ("These are two images. Did the event damage buildings?", True),
        ("Is this urban or rural?", False),
        ("Can you list the objects?", False),
        ("How many buildings are there?", False),
        ("Describe the image.", False),
        ("Has the river changed between the images?", True),
        ("Do you see any buildings?", True),
        ("Would a land-cover survey of this area report pastures?", True),
        ("Would you list the classes?", False),
        ("Is there a road? Reply in one word.", True),
        ("Is there a road? Please answer with yes or no.", True),
        ("Is there a road? A yes or no answer is enough.", True),
        ("Is there a road? Where is it?", False),
        ("Were any destroyed? Please locate them.", False),
        ("After the event, can at least three damaged buildings be found here?", True),
        ("Judging from the two images, the first taken before, was there an earthquake?", True),
        ("Looking at the damage, which disaster caused it: fire, flood?", False),
        ("Looking at both images, is it urban or rural?", False),
        ("Do you know how many buildings got damaged?", False),
        ("Could you tell which class covers most of it?", False),
    ],
)
def test_yes_no_questions(question: str, expected: bool) -> None:
    assert is_yes_no_question(question) is expected


def test_answer_values_for_balance() -> None:
    assert answer_value("Yes, a forest.", "sentence") == ("yes", True)
    assert answer_value("No", "terse") == ("no", True)
    assert answer_value("Rural.", "terse") == ("rural", True)
    assert answer_value("This patch is rural.", "sentence") == ("this patch is rural", False)
    # a class that starts with "no" answers no yes/no question
    assert answer_value("No damage.", "terse", "What is the damage level?") == ("no damage", True)
    assert answer_value("No.", "terse", "Is it damaged?") == ("no", True)


BALANCED = {"urban_rural": TemplateInfo("landcover", balanced=True), "t1": TemplateInfo("scene")}


def test_the_balance_matches_sentences_to_terse_values_and_is_enforced() -> None:
    items = [
        item("Urban or rural?", "rural", template_id="urban_rural", sample_id=f"r{i}")
        for i in range(20)
    ]
    items += [
        item(
            "Urban or rural?",
            "This patch is rural.",
            "sentence",
            template_id="urban_rural",
            sample_id=f"s{i}",
        )
        for i in range(10)
    ]
    items += [
        item("Urban or rural?", "urban", template_id="urban_rural", sample_id=f"u{i}")
        for i in range(5)
    ]
    items.append(
        item(
            "Urban or rural?",
            "It is hard to say.",
            "sentence",
            template_id="urban_rural",
            sample_id="x",
        )
    )
    report = audit_items(items, infos=BALANCED, rules={})
    tally = report.templates["urban_rural"]
    assert tally.balance() == ({"rural": 30, "urban": 5}, 1)
    assert tally.max_answer_share() == pytest.approx(30 / 35)
    settings = AuditSettings(max_answer_share=0.7, balance_min_pairs=30)
    [violation] = report.violations(settings)
    assert "urban_rural" in violation and "'rural'" in violation and "86%" in violation
    with pytest.raises(AuditError, match=r"^audit: urban_rural answers 'rural'"):
        report.check(settings)
    # below balance_min_pairs it is reported, not enforced
    assert report.violations(AuditSettings(balance_min_pairs=36)) == []
    metrics = report.to_metrics()
    assert metrics["audit/balance/urban_rural.json"] == {"pairs": 35, "max_answer_share": 0.8571}


def test_flags_codes_unchecked_duplicates_and_variety() -> None:
    def rule(audited: AuditItem) -> list[str]:
        return ["wrong_yes_no:forest"] if audited.answers[0] == "No" else []

    def broken(audited: AuditItem) -> list[str]:
        raise ZeroDivisionError

    items = [
        item("Is there forest?", "Yes", sample_id="a", paraphrase_id=0),
        item("Is there forest?", "Yes", sample_id="a", paraphrase_id=0),  # a duplicate
        item("Does forest appear?", "No", sample_id="b", paraphrase_id=1),
        item("Is there water?", "water", template_id="t2", sample_id="c"),
        item("Describe it.", "A forest.", "sentence", template_id="t3", sample_id="d"),
        item(
            "Describe it.",
            "Taken on 2023-07-28.",
            "sentence",
            template_id="qa/1",
            generator="captioner/vllm",
        ),
    ]
    report = audit_items(items, infos=BALANCED, rules={"t1": rule, "t2": broken})
    t1, t2, t3 = (report.templates[k] for k in ("t1", "t2", "t3"))
    assert (t1.pairs, t1.flagged, t1.duplicates, t1.unchecked) == (3, 1, 1, 0)
    assert dict(t1.codes) == {"wrong_yes_no": 1}
    assert t1.examples[0][1:] == ["wrong_yes_no:forest"]
    assert dict(t2.codes) == {"rule_error": 1, "yes_no_unanswered": 1}
    assert t3.unchecked == 1 and t3.flagged == 0
    assert len(t1.phrasings) == 2 and len(t1.questions) == 2 and t1.one_word == 3
    totals = report.totals()
    assert totals["template"]["pairs"] == 5 and totals["template"]["flagged"] == 2
    assert totals["captioner"] == {
        "pairs": 1,
        "flagged": 1,
        "share": 1.0,
        "codes": {"metadata_answer:date": 1},
        "duplicates": 0,
        "unchecked": 0,
    }
    assert report.families()["scene"]["styles"] == {"terse": 3}
    metrics = report.to_metrics()
    assert metrics["audit/captioner.json"] == {"pairs": 1, "flagged": 1, "share": 1.0}
    assert metrics["audit/duplicates.json"] == {"pairs": 1, "share": round(1 / 6, 4)}
    # templates: any flag fails; the captioner: only above its own rate
    with pytest.raises(AuditError) as caught:
        report.check(AuditSettings(max_flagged_rate=0.0, max_flagged_rate_captioner=1.0))
    message = str(caught.value)
    assert "\n" not in message and "2 of 5 template pairs flagged" in message
    assert "rule_error 1" in message and "captioner" not in message
    assert (
        report.violations(AuditSettings(max_flagged_rate=0.5, max_flagged_rate_captioner=1.0)) == []
    )
    assert (
        len(report.violations(AuditSettings(max_flagged_rate=0.5, max_flagged_rate_captioner=0.5)))
        == 1
    )


def test_reports_of_partitions_add_up_to_the_report_of_all() -> None:
    items = [
        item("Is there forest?", "Yes" if i % 3 else "forest", sample_id=f"s{i % 4}")
        for i in range(12)
    ]
    items += [item("Urban or rural?", "urban", template_id="urban_rural", sample_id="s9")]
    by_sample = sorted(items, key=lambda i: i.sample_id)  # partitions hold whole samples
    whole = audit_items(by_sample, infos=BALANCED, rules={})
    first = audit_items(by_sample[:6], infos=BALANCED, rules={})
    second = audit_items(by_sample[6:], infos=BALANCED, rules={})
    merged = AuditReport.from_dict(json.loads(json.dumps(first.to_dict())))
    merged.merge(AuditReport.from_dict(json.loads(json.dumps(second.to_dict()))))
    assert merged.to_dict(full=False) == whole.to_dict(full=False)
    assert merged.to_metrics() == whole.to_metrics()


def test_metrics_files_share_few_keys(tmp_path: Path) -> None:
    report = audit_items(
        [item("Urban or rural?", "urban", template_id="urban_rural"), item("Is it?", "Yes")],
        infos=BALANCED,
        rules={},
    )
    write_audit(report, tmp_path)
    files = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "audit").rglob("*.json"))
    assert files == [
        "audit/balance/urban_rural.json",
        "audit/template.json",
        "audit/unchecked.json",
    ]  # no captioner pairs, no duplicates: no rows
    keys = set()
    for name in files:
        keys |= set(json.loads((tmp_path / name).read_text()))
    assert keys == {"pairs", "flagged", "share", "max_answer_share"}
    summary = json.loads((tmp_path / "audit.json").read_text())
    assert summary["totals"]["template"]["pairs"] == 2
    assert summary["templates"]["urban_rural"]["balance"]["values"] == {"urban": 1}


def test_audit_settings_are_strict() -> None:
    assert validate_settings({}).audit == AuditSettings()
    with pytest.raises(ConfigError, match=r"audit\.max_flagged_rate = '0\.1'"):
        validate_settings({"audit": {"max_flagged_rate": "0.1"}})
    with pytest.raises(ConfigError, match=r"audit\.max_answer_share = 1\.5"):
        validate_settings({"audit": {"max_answer_share": 1.5}})
    with pytest.raises(ConfigError, match=r"audit\.balance_min: unknown key"):
        validate_settings({"audit": {"balance_min": 3}})


def _sample() -> Sample:
    return Sample(
        sample_id="src:1",
        source="src",
        native_id="1",
        modality="rgb",
        sensor="WorldView-2",
        bands=("R", "G", "B"),
        gsd_m=0.5,
        crs="EPSG:4326",
        footprint_wkt="POLYGON ((0 0, 1 0, 1 1, 0 1, 0 0))",
        acquired=("2020-05-01T10:00:00Z",),
        images=(ImageRef("image", ("a.png",), ("R", "G", "B"), "uint8", 64, 64),),
        tags={"osm:landuse": "forest"},
        labels=Labels(classes=("Coniferous forest",)),
        licence="x",
    )


def _caption_pair(answer: str) -> InstructionPair:
    return InstructionPair(
        pair_id=f"p-{len(answer)}",
        sample_id="src:1",
        source="src",
        task="captioning",
        template_id="qa_tags/1",
        paraphrase_id=0,
        generator="captioner/vllm",
        generator_params={},
        image_roles=("image",),
        turns=(Turn("human", "<image>\nWhat does this image show?"), Turn("gpt", answer)),
    )


def test_the_validate_step_rejects_a_flagged_pair_with_audit_reasons() -> None:
    step = ValidateStep(
        [], GenerationConfig(seed=1, box_scale=100, max_boxes=40, class_set="ben19")
    )
    ledger = Ledger()
    sample = _sample()
    good = _caption_pair("A conifer forest with a track through it.")
    assert step.process((good, sample), ledger) == [good]
    bad = _caption_pair("A WorldView-2 image taken on 2020-05-01.")
    with pytest.raises(ItemDropped) as dropped:
        step.process((bad, sample), ledger)
    assert set(dropped.value.reasons) == {
        "audit:metadata_answer:date",
        "audit:metadata_answer:platform",
    }
    assert ledger.stats.produced["audited:captioner"] == 2
    assert ledger.stats.produced["audit_flagged:captioner"] == 1
    assert step.audit.totals()["captioner"]["flagged"] == 1
    assert from_pair(bad, sample).questions == ("What does this image show?",)


def _corpus_row(
    answer: str, template_id: str = "scene_any", pair_id: str = "p1"
) -> dict[str, object]:
    metadata = {
        "acquired": ["2020-05-01T10:00:00Z"],
        "tags": {"platform": "Sentinel-2A"},
        "image_sizes": {"image": [64, 64]},
        "labels": {"scheme": "ben19", "classes": ["Pastures"], "objects": [], "properties": {}},
    }
    return {
        "pair_id": pair_id,
        "sample_id": "ben:1",
        "source": "bigearthnet_v2",
        "task": "vqa",
        "template_id": template_id,
        "paraphrase_id": 2,
        "answer_style": "sentence",
        "modality": "multispectral",
        "sensor": "Sentinel-2 MSI",
        "images": [{"bytes": b"", "path": "x.png"}],
        "image_roles": ["image"],
        "conversations": [
            {"from": "human", "value": "[s2_ms_10] <image>\nWhat covers this patch?"},
            {"from": "gpt", "value": answer},
        ],
        "generator": "template/2",
        "metadata": json.dumps(metadata),
    }


def _write_corpus(root: Path, rows: list[dict[str, object]]) -> Path:
    """Write pair rows as the corpus stores them: one sample row holding them as dialogues."""
    dialogue_keys = ("pair_id", "task", "template_id", "paraphrase_id", "answer_style")
    sample = {
        **{k: rows[0][k] for k in ("sample_id", "source", "modality", "sensor", "metadata")},
        "split": "train",
        "image_roles": rows[0]["image_roles"],
        "dialogues": [
            {
                **{k: r[k] for k in dialogue_keys},
                "generator": r["generator"],
                "generator_params": "{}",
                "modality": r["modality"],
                "image_roles": r["image_roles"],
                "conversations": r["conversations"],
            }
            for r in rows
        ],
    }
    (root / "data").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist([sample]), root / "data" / "train-x-0-0.parquet")
    return root


def test_a_corpus_row_gives_the_same_item_as_the_pair() -> None:
    audited = from_corpus_row(_corpus_row("Pastures cover it."))
    assert audited.questions == ("What covers this patch?",)
    assert audited.labels.classes == ("Pastures",)
    assert audited.paraphrase_id == 2 and audited.image_sizes == {"image": (64, 64)}
    assert audited.acquired == ("2020-05-01T10:00:00Z",)


def test_the_audit_command_prints_the_table_and_fails_above_the_limits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_corpus = _write_corpus(tmp_path / "clean", [_corpus_row("Pastures cover it.")])
    no_params = str(tmp_path / "absent.yaml")
    assert main(["--params", no_params, "audit", str(clean_corpus)]) == 0
    assert "within the limits" in capsys.readouterr().out
    flagged = _write_corpus(
        tmp_path / "flagged",
        [_corpus_row("Pastures cover it."), _corpus_row("A Sentinel-2A view.", pair_id="p2")],
    )
    out = tmp_path / "audit.json"
    assert main(["--params", no_params, "audit", str(flagged), "--json", str(out)]) == 1
    text = capsys.readouterr().out
    assert "scene_any" in text and "metadata_answer:platform 1" in text
    doc = json.loads(out.read_text())
    assert doc["totals"]["template"]["flagged"] == 1 and len(doc["violations"]) == 1
    override = ["--params", no_params, "audit", str(flagged), "--set", "audit.max_flagged_rate=0.5"]
    assert main(override) == 0
    assert audit_corpus(flagged).totals()["template"]["pairs"] == 2
    assert main(["--params", no_params, "audit", str(tmp_path / "nothing")]) == 2


def test_rules_are_looked_up_at_audit_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_module, "RULES", {"t1": lambda audited: ["count_mismatch:x:1!=2"]})
    report = AuditReport(infos=BALANCED)
    assert report.add(item("How many?", "1")) == ["count_mismatch:x:1!=2"]


@pytest.fixture(scope="module")
def validated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample corpus built up to the validate stage (the audit's limits lifted)."""
    from build_helpers import make_params

    import eoinstruct

    root = tmp_path_factory.mktemp("audit_build")
    params = make_params(root)
    stages = ["sample_data", "ingest", "enrich", "score", "filter", "dedup", "generate"]
    eoinstruct.build(params, stages=[*stages, "caption", "validate"], overrides=LIFTED)
    return params


LIFTED = {"audit.max_flagged_rate": 1.0, "audit.max_answer_share": 1.0}


def test_the_validate_stage_audits_every_pair_and_rejects_the_flagged_ones(
    validated: Path,
) -> None:
    root = validated.parent
    summary = json.loads((root / "metrics" / "audit.json").read_text())
    generated = sum(
        pq.ParquetFile(p).metadata.num_rows
        for p in (root / "work" / "generate" / "pairs").glob("*.parquet")
    )
    template = summary["totals"]["template"]
    assert template["pairs"] == generated > 0
    rejected = []
    for path in (root / "work" / "validate" / "rejected").glob("*.parquet"):
        rejected += pq.read_table(path).to_pylist()
    audit_rejected = [r for r in rejected if any(x.startswith("audit:") for x in r["reasons"])]
    assert len(audit_rejected) == template["flagged"]
    metric = json.loads((root / "metrics" / "audit" / "template.json").read_text())
    assert metric == {
        "pairs": template["pairs"],
        "flagged": template["flagged"],
        "share": template["share"],
    }


def test_the_validate_stage_fails_in_one_line_above_the_limit(
    validated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    import eoinstruct

    root = validated.parent
    first = next(iter(json.loads((root / "metrics" / "audit.json").read_text())["templates"]))
    monkeypatch.setitem(report_module.RULES, first, lambda audited: ["wrong_class:crafted"])
    shutil.rmtree(root / "work" / "_state" / "validate")  # redo every partition
    with pytest.raises(
        AuditError, match=r"^audit: \d+ of \d+ template pairs flagged .*wrong_class"
    ):
        eoinstruct.build(validated, stages=["validate"], overrides={"audit.max_flagged_rate": 0.0})
    summary = json.loads((root / "metrics" / "audit.json").read_text())
    tally = summary["templates"][first]
    assert tally["codes"]["wrong_class"] == tally["pairs"] == tally["flagged"]
    assert main(["--params", str(validated), "--no-progress", "validate"]) == 2


def test_corpus_rows_read_by_pandas_audit_the_same() -> None:
    """List columns come back as NumPy arrays from pandas; the audit reads them all the same."""
    import numpy as np

    from eoinstruct.pipeline.audit.item import from_corpus_row

    row = {
        "pair_id": "p",
        "sample_id": "s",
        "source": "bigearthnet_v2",
        "task": "vqa",
        "template_id": "ben_landcover_presence",
        "generator": "template/2",
        "answer_style": "terse",
        "image_roles": np.array(["image"], dtype=object),
        "conversations": np.array(
            [
                {"from": "human", "value": "[s2_ms_10] <image>\nIs there pasture here?"},
                {"from": "gpt", "value": "Yes"},
            ],
            dtype=object,
        ),
        "metadata": '{"labels": {"scheme": "ben19", "classes": ["Pastures"]}}',
    }
    item = from_corpus_row(row)
    assert item.image_roles == ("image",)
    assert item.questions == ("Is there pasture here?",) and item.answers == ("Yes",)
    assert item.labels.classes == ("Pastures",)
