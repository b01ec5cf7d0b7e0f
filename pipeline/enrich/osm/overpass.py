"""OSM tags from an Overpass API endpoint, one query per footprint.

**Overpass**. osmnx's global settings are set for the duration of each query and restored
afterwards (so the tagger is not thread-safe; processes are fine). Responses are not cached
on disk. Every request has a timeout; an unreachable endpoint, an HTTP error status
(including osmnx's otherwise endless 429/504 retries), a non-JSON answer or an Overpass
runtime-error remark (a timed-out, partial answer) raises :class:`OsmError` naming the URL.
With ``rate_limit`` true the tagger first asks ``<url>/status`` for a free slot, as the public
servers require, and waits for one at most ``timeout_s`` (osmnx's own check would sleep a
minute on a status it cannot parse and poll forever while the server says "Currently
running"); a status it cannot read, or no slot within ``timeout_s``, raises
:class:`OsmError`. Set ``rate_limit`` false for your own Overpass instance.

Fact relied on: the status page's fifth line is ``<n> slots available now.`` or
``Slot available after: <time>, in <s> seconds.`` (one such line per busy slot) or starts
with ``Currently running queries`` (overpass-api.de; osmnx ``_overpass._get_overpass_pause``
reads the same line).
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import osmnx
import requests
from osmnx._errors import InsufficientResponseError, ResponseStatusCodeError

from eoinstruct.pipeline.config import ConfigError
from eoinstruct.pipeline.enrich.osm.match import (
    Features,
    OsmConfig,
    OsmError,
    query_tags,
    require_footprint,
    tags_from_candidates,
)


class OverpassTagger:
    """Tags footprints by querying an Overpass API endpoint (one request per footprint).

    Attributes:
        config: The tagging configuration.
        url: Base URL of the endpoint (osmnx appends ``/interpreter`` and ``/status``).
        timeout_s: Timeout of every HTTP request, also sent as the query's server timeout.
        rate_limit: Ask ``<url>/status`` for a slot before each query (public servers), waiting
            at most ``timeout_s``.
    """

    def __init__(
        self,
        url: str,
        config: OsmConfig,
        *,
        timeout_s: float = 60.0,
        rate_limit: bool = True,
    ) -> None:
        """Set up the tagger; nothing is sent until the first footprint.

        Args:
            url: Base URL, e.g. ``https://overpass-api.de/api``.
            config: Which tags to read and how.
            timeout_s: Seconds for each request (connect and read).
            rate_limit: Use the endpoint's slot management (false for a private instance).

        Raises:
            ConfigError: If the URL is not http(s) or the timeout is not positive.
        """
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"osm.overpass_url must be an http(s) URL, got {url!r}")
        if not timeout_s > 0:
            raise ConfigError(f"osm.timeout_s must be positive, got {timeout_s}")
        self.url = url.rstrip("/")
        self.config = config
        self.timeout_s = float(timeout_s)
        self.rate_limit = rate_limit
        self._reachable = False

    def _fail(self, what: str) -> OsmError:
        return OsmError(
            f"Overpass endpoint {self.url}: {what}; check osm.overpass_url, raise "
            "osm.timeout_s, or use a local extract (osm.extract)"
        )

    def _probe(self) -> None:
        """Fail fast when nothing answers at the URL (osmnx would sleep 60 s first)."""
        if self._reachable:
            return
        try:
            requests.get(f"{self.url}/status", timeout=min(self.timeout_s, 10.0))
        except requests.RequestException as exc:
            raise self._fail(f"unreachable ({type(exc).__name__}: {exc})") from exc
        self._reachable = True

    def _wait_for_slot(self) -> None:
        """Wait until the endpoint has a free slot, at most ``timeout_s`` (rate_limit only)."""
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                response = requests.get(f"{self.url}/status", timeout=min(self.timeout_s, 10.0))
            except requests.RequestException as exc:
                raise self._fail(f"unreachable ({type(exc).__name__}: {exc})") from exc
            self._reachable = True
            lines = response.text.splitlines() if response.status_code == 200 else []
            status = lines[4].strip() if len(lines) > 4 else ""
            if re.match(r"\d+ slots? available now", status):
                return
            waits = [
                int(w)
                for w in re.findall(r"Slot available after: \S+, in (-?\d+) s", "\n".join(lines))
            ]
            if waits:
                wait = max(min(waits), 0) + 0.5
            elif status.startswith("Currently running"):
                wait = 1.0
            else:
                raise self._fail(
                    f"status page not understood (HTTP {response.status_code}, line 5 "
                    f"{status[:80]!r}); set osm.rate_limit: false for an instance without slots"
                )
            if time.monotonic() + wait > deadline:
                raise self._fail(f"no free query slot within osm.timeout_s ({self.timeout_s:g} s)")
            time.sleep(wait)

    def _check_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Response hook: reject what osmnx would retry forever or accept as partial."""
        del args, kwargs
        if response.request is None or response.request.method != "POST":
            return
        if response.status_code != 200:
            raise self._fail(f"HTTP {response.status_code} {response.reason}")
        try:
            body = response.json()
        except RecursionError:
            raise self._fail("answer is nested too deeply to parse") from None
        except ValueError as exc:
            raise self._fail(f"answer is not JSON: {response.text[:200]!r}") from exc
        if not isinstance(body, dict) or not isinstance(body.get("elements"), list):
            raise self._fail("answer has no 'elements' list")
        remark = str(body.get("remark", ""))
        if "error" in remark.lower():
            raise self._fail(f"server remark {remark!r} (the answer is incomplete)")

    @contextlib.contextmanager
    def _osmnx_settings(self) -> Iterator[None]:
        s = osmnx.settings
        new = {
            "overpass_url": self.url,
            "overpass_rate_limit": False,  # _wait_for_slot, bounded, instead
            "requests_timeout": max(1, math.ceil(self.timeout_s)),
            "use_cache": False,
            "cache_only_mode": False,
            "doh_url_template": None,
            "requests_kwargs": {"hooks": {"response": [self._check_response]}},
        }
        old = {name: getattr(s, name) for name in new}
        for name, value in new.items():
            setattr(s, name, value)
        try:
            yield
        finally:
            for name, value in old.items():
                setattr(s, name, value)

    def tags_for(self, footprint_wkt: str) -> dict[str, str]:
        """Query the endpoint for the features on a footprint and return their OSM tags.

        Args:
            footprint_wkt: Lon/lat (multi)polygon as WKT.

        Returns:
            ``<prefix><key>`` → ``;``-joined sorted values, sorted by name.

        Raises:
            OsmError: If the footprint is invalid or the endpoint is unreachable, times out
                or gives an unusable answer.
        """
        footprint = require_footprint(footprint_wkt)
        if self.rate_limit:
            self._wait_for_slot()
        else:
            self._probe()
        try:
            with self._osmnx_settings():
                gdf = osmnx.features.features_from_polygon(footprint, query_tags(self.config))
        except InsufficientResponseError:
            return {}
        except OsmError:
            raise
        except requests.RequestException as exc:
            raise self._fail(f"request failed ({type(exc).__name__}: {exc})") from exc
        except (ResponseStatusCodeError, KeyError, json.JSONDecodeError) as exc:
            raise self._fail(f"unusable answer ({type(exc).__name__}: {exc})") from exc
        features = Features.from_gdf(gdf, self.config.tag_keys)
        candidates = np.arange(len(features.geoms))
        return tags_from_candidates(features, candidates, footprint, self.config)
