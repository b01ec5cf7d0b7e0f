"""OpenStreetMap enrichment: the OSM tags of the features on a sample's footprint.

SkyScript (Wang et al., "SkyScript: A Large and Semantically Diverse Vision-Language Dataset
for Remote Sensing", AAAI 2024, arXiv:2312.12856) described each image by the OpenStreetMap
tags of the features lying on it (its meta files hold the image ``box`` and a
``surrounding_tags`` dict per OSM object; wangzhecheng/SkyScript README). This package does
the same for a :class:`~eoinstruct.pipeline.records.Sample`: given its lon/lat footprint it returns
``osm:<key>`` tags for a configured set of tag keys, from either

- a local OSM XML extract (``.osm``, ``.osm.gz``, ``.osm.bz2``) read once with
  :func:`osmnx.features.features_from_xml` and queried through a spatial index
  (:class:`~eoinstruct.pipeline.enrich.osm.extract.XmlTagger`), or
- an Overpass API endpoint, one query per footprint through
  :func:`osmnx.features.features_from_polygon`
  (:class:`~eoinstruct.pipeline.enrich.osm.overpass.OverpassTagger`).

Modules, each importing only those above it:

- :mod:`~eoinstruct.pipeline.enrich.osm.match`: the configuration, footprints, and which features
count
  and what tags they give;
- :mod:`~eoinstruct.pipeline.enrich.osm.extract`: reading a local extract;
- :mod:`~eoinstruct.pipeline.enrich.osm.overpass`: querying an Overpass endpoint;
- :mod:`~eoinstruct.pipeline.enrich.osm.tagger`: the tagger of the ``osm`` params section, and
  :func:`~eoinstruct.pipeline.enrich.osm.tagger.enrich`.
"""
