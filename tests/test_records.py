import pyarrow as pa
import pytest

from eoinstruct.pipeline.records import (
    PAIR_SCHEMA,
    SAMPLE_SCHEMA,
    ImageRef,
    InstructionPair,
    Labels,
    ObjectLabel,
    RecordError,
    Sample,
    Turn,
    pair_from_row,
    pairs_table,
    sample_from_row,
    samples_table,
)


def make_sample(**overrides):
    fields = dict(
        sample_id="xbd:t_1",
        source="xbd",
        native_id="t_1",
        modality="rgb",
        sensor="WorldView-2",
        bands=("R", "G", "B"),
        gsd_m=0.5,
        crs="EPSG:4326",
        footprint_wkt="POLYGON ((0 0, 1 0, 1 1, 0 1, 0 0))",
        acquired=("2017-08-31T17:17:06Z", "2017-09-02T17:00:00Z"),
        images=(
            ImageRef("pre", ("a_pre.png",), ("R", "G", "B"), "uint8", 256, 256),
            ImageRef("post", ("a_post.png",), ("R", "G", "B"), "uint8", 256, 256),
        ),
        tags={"disaster": "hurricane-harvey", "b": "2"},
        labels=Labels(
            objects=(
                ObjectLabel("building", "destroyed", "post", (1.0, 2.0, 3.0, 4.0), "POLYGON", "u1"),
            ),
            properties={"disaster_type": "flooding"},
        ),
        licence="CC-BY-NC-SA-4.0",
        split="train",
    )
    fields.update(overrides)
    return Sample(**fields)


def test_sample_round_trips_through_arrow():
    sample = make_sample()
    table = samples_table([sample])
    assert table.schema == SAMPLE_SCHEMA
    back = sample_from_row(table.to_pylist()[0])
    assert back == make_sample(tags={"b": "2", "disaster": "hurricane-harvey"})
    assert back.image("post").files == ("a_post.png",)


def test_pair_round_trips_through_arrow():
    pair = InstructionPair(
        pair_id="p1",
        sample_id="xbd:t_1",
        source="xbd",
        task="grounding",
        template_id="t",
        paraphrase_id=2,
        generator="template/1",
        generator_params={"seed": "7"},
        image_roles=("post",),
        turns=(Turn("human", "<image>\nq"), Turn("gpt", "a")),
        split="train",
    )
    table = pairs_table([pair])
    assert table.schema == PAIR_SCHEMA
    assert table.column("conversations").to_pylist()[0][0] == {
        "from": "human",
        "value": "<image>\nq",
    }
    assert pair_from_row(table.to_pylist()[0]) == pair


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"modality": "lidar"}, "unknown modality"),
        ({"images": ()}, "no images"),
        ({"sample_id": ""}, "non-empty"),
    ],
)
def test_sample_rejects_bad_fields(overrides, message):
    with pytest.raises(RecordError, match=message):
        make_sample(**overrides)


def test_image_ref_checks_files_against_bands():
    with pytest.raises(RecordError, match="2 files for 3 bands"):
        ImageRef("image", ("a", "b"), ("B02", "B03", "B04"), "reflectance_1e4", 120, 120)
    with pytest.raises(RecordError, match="unknown encoding"):
        ImageRef("image", ("a",), ("R",), "floating", 1, 1)
    image = ImageRef("image", ("a", "b"), ("B02", "B03"), "reflectance_1e4", 120, 120)
    assert image.band_file("B03") == "b"
    with pytest.raises(KeyError):
        image.band_file("B04")


def test_duplicate_roles_rejected():
    im = ImageRef("pre", ("a.png",), ("R", "G", "B"), "uint8", 2, 2)
    with pytest.raises(RecordError, match="repeats image roles"):
        make_sample(images=(im, im))


def test_schema_is_fixed():
    # Stages exchange files of exactly these columns; a change must be deliberate.
    assert SAMPLE_SCHEMA.names[:4] == ["sample_id", "source", "native_id", "modality"]
    assert PAIR_SCHEMA.field("conversations").type == pa.list_(
        pa.struct([("from", pa.string()), ("value", pa.string())])
    )


def test_readme_sources_table_is_current():
    from pathlib import Path

    from eoinstruct.sources.table import END, START, sources_markdown

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    table = readme.split(START, 1)[1].split(END, 1)[0]
    assert table.strip() == sources_markdown().strip(), (
        "run: eoinstruct sources --update-readme README.md"
    )
