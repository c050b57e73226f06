"""Public statistics: releases, charts, open data and the methodology."""

from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify, render_template, request

from mediation.domain.cell_key import DEFAULT_PTABLE
from mediation.domain.disclosure_control import (
    MEDIAN_MIN_ORGANISATIONS,
    PERCENTAGE_MIN_DENOMINATOR,
    ROUNDING_BASE,
    THRESHOLD,
)
from mediation.domain.statistics_tables import CATALOGUE, RESOLUTION_BANDS
from mediation.extensions import database
from mediation.services.errors import ServiceError
from mediation.services.statistics_open_data import (
    PublishedRelease,
    ReleaseNotFound,
    all_releases,
    quarterly_series,
    release_csv,
    release_document,
)
from mediation.web.access import public
from mediation.web.downloads import csv_download
from mediation.web.statistics import presenters

blueprint = Blueprint("statistics", __name__, url_prefix="/statistics")

TOPICS = {
    "categories": "Breach categories",
    "body-types": "Types of public body",
    "regions": "Regions",
    "outcomes": "Outcomes",
    "time-to-resolution": "Time to resolution",
}


def _releases() -> list[PublishedRelease]:
    try:
        return all_releases(database())
    except ServiceError as exc:
        abort(Response(render_template("statistics/unavailable.html", message=str(exc)), 503))


def _current(releases: list[PublishedRelease]) -> list[PublishedRelease]:
    return [release for release in releases if release.is_current]


def _find(releases: list[PublishedRelease], release_id: str) -> PublishedRelease:
    for release in releases:
        if release.id == release_id:
            return release
    abort(404)


def _chosen_annual(releases: list[PublishedRelease]) -> PublishedRelease | None:
    """The annual release asked for (?release=2025-v2), else the latest current one."""
    wanted = request.args.get("release", "")
    annual = [r for r in releases if r.is_annual]
    if wanted:
        for release in annual:
            if release.id == wanted:
                return release
        abort(404)
    current = [r for r in annual if r.is_current]
    return current[0] if current else None


@blueprint.route("/")
@public
def index() -> str:
    releases = _releases()
    current = _current(releases)
    points = quarterly_series(current)
    latest = current[0] if current else None
    annual = next((r for r in current if r.is_annual), None)
    return render_template(
        "statistics/index.html",
        latest=latest,
        annual=annual,
        headlines=presenters.headlines(latest, annual, points),
        topics=TOPICS,
    )


@blueprint.route("/trend")
@public
def trend() -> str:
    points = quarterly_series(_current(_releases()))
    chart = presenters.trend_chart(points) if points else None
    return render_template("statistics/trend.html", points=points, trend_chart=chart)


def _topic_page(topic: str) -> str:
    releases = _releases()
    release = _chosen_annual(releases)
    data = presenters.breakdown(release, topic) if release else None
    cross = presenters.category_by_outcome(release) if release and topic == "outcomes" else None
    return render_template(
        "statistics/topic.html",
        topic=topic,
        title=TOPICS[topic],
        release=release,
        data=data,
        cross=cross,
        annual_releases=[r for r in releases if r.is_annual and r.is_current],
    )


@blueprint.route("/categories")
@public
def categories() -> str:
    return _topic_page("categories")


@blueprint.route("/body-types")
@public
def body_types() -> str:
    return _topic_page("body-types")


@blueprint.route("/regions")
@public
def regions() -> str:
    return _topic_page("regions")


@blueprint.route("/outcomes")
@public
def outcomes() -> str:
    return _topic_page("outcomes")


@blueprint.route("/time-to-resolution")
@public
def time_to_resolution() -> str:
    return _topic_page("time-to-resolution")


@blueprint.route("/releases")
@public
def archive() -> str:
    return render_template("statistics/archive.html", releases=_releases())


@blueprint.route("/releases/<release_id>")
@public
def release_page(release_id: str) -> str:
    release = _find(_releases(), release_id)
    tables = [(spec, release.table(spec.name)) for spec in CATALOGUE if release.table(spec.name)]
    return render_template(
        "statistics/release.html", release=release, tables=tables, label=presenters.label
    )


def _json(release: PublishedRelease) -> Response:
    # No "public" caching: the answer to a signed-in member of staff refreshes their session
    # cookie, which no shared cache may keep (the app's no-store applies).
    return jsonify(release_document(release))


def _csv(release: PublishedRelease) -> Response:
    try:
        text = release_csv(release, request.args.get("table") or None)
    except ReleaseNotFound:
        abort(404)
    return csv_download(text, f"compact-statistics-{release.id}.csv")


def _latest() -> PublishedRelease:
    current = _current(_releases())
    if not current:
        abort(404)
    return current[0]


@blueprint.route("/latest.json")
@public
def latest_json() -> Response:
    return _json(_latest())


@blueprint.route("/latest.csv")
@public
def latest_csv() -> Response:
    return _csv(_latest())


@blueprint.route("/releases/<release_id>.json")
@public
def release_json(release_id: str) -> Response:
    return _json(_find(_releases(), release_id))


@blueprint.route("/releases/<release_id>.csv")
@public
def release_csv_file(release_id: str) -> Response:
    return _csv(_find(_releases(), release_id))


@blueprint.route("/methodology")
@public
def methodology() -> str:
    return render_template(
        "statistics/methodology.html",
        threshold=THRESHOLD,
        rounding=ROUNDING_BASE,
        percentage_min=PERCENTAGE_MIN_DENOMINATOR,
        median_min=MEDIAN_MIN_ORGANISATIONS,
        largest_adjustment=DEFAULT_PTABLE.largest_adjustment,
        catalogue=CATALOGUE,
        bands=RESOLUTION_BANDS,
    )
