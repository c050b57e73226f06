"""The analysts' dashboard: published statistics releases only, never a case.

Analysts see the same releases the public sees, compare them and export them as CSV. The
one action here, publishing, is a case officer's: it needs their key to the statistics key.
"""

from __future__ import annotations

from datetime import date

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response as WerkzeugResponse

from mediation.domain.permissions import Permission
from mediation.extensions import database, db
from mediation.services.errors import ServiceError
from mediation.services.statistics_open_data import (
    PublishedRelease,
    all_releases,
    compare_releases,
    comparison_csv,
    releases_csv,
)
from mediation.services.statistics_releases import (
    DEFAULT_DP_BUDGET,
    PrivacySettings,
    budget_spent,
    publish_release,
)
from mediation.vault import VaultError
from mediation.web.access import current_keypair, requires, signed_in_user
from mediation.web.analyst.forms import PublishForm
from mediation.web.downloads import csv_download
from mediation.web.statistics.presenters import label

blueprint = Blueprint("analyst", __name__, url_prefix="/analyst")


def _releases() -> tuple[list[PublishedRelease], str | None]:
    try:
        return all_releases(database()), None
    except ServiceError as exc:
        return [], str(exc)


def _budget() -> float:
    return float(current_app.config.get("STATISTICS_DP_BUDGET", DEFAULT_DP_BUDGET))


@blueprint.route("/")
@requires(Permission.VIEW_STATISTICS_DASHBOARD)
def dashboard() -> str:
    releases, error = _releases()
    years = sorted({int(r.period[:4]) for r in releases if r.epsilon is not None}, reverse=True)
    budgets = [(year, budget_spent(database(), year), _budget()) for year in years]
    return render_template(
        "analyst/dashboard.html", releases=releases, error=error, budgets=budgets
    )


@blueprint.route("/compare")
@requires(Permission.VIEW_STATISTICS_DASHBOARD)
def compare() -> Response | str:
    releases, error = _releases()
    by_id = {r.id: r for r in releases}
    before = by_id.get(request.args.get("before", ""))
    after = by_id.get(request.args.get("after", ""))
    problem = error
    if (request.args.get("before") or request.args.get("after")) and not (before and after):
        problem = "Choose two published releases to compare."
    if before and after and request.args.get("format") == "csv":
        return csv_download(comparison_csv(before, after), f"compare-{before.id}-{after.id}.csv")
    changes = compare_releases(before, after) if before and after else []
    return render_template(
        "analyst/compare.html",
        releases=releases,
        before=before,
        after=after,
        changes=changes,
        compare_error=problem,
        label=label,
    )


@blueprint.route("/export.csv")
@requires(Permission.VIEW_STATISTICS_DASHBOARD)
def export() -> Response:
    """One release as CSV (?release=2025-v2), or every current release in one file. A
    release that was never published is a 404: its id is never written back."""
    releases, _ = _releases()
    wanted = request.args.get("release", "")
    if not wanted:
        return csv_download(
            releases_csv([r for r in releases if r.is_current]), "compact-statistics-current.csv"
        )
    chosen = next((r for r in releases if r.id == wanted), None)
    if chosen is None:
        abort(404)
    return csv_download(releases_csv([chosen]), f"compact-statistics-{chosen.id}.csv")


@blueprint.route("/publish", methods=["GET", "POST"])
@requires(Permission.PUBLISH_STATISTICS)
def publish() -> WerkzeugResponse | str:
    form = PublishForm()
    error = None
    if form.validate_on_submit():
        note = (form.note.data or "").strip()
        epsilon = current_app.config.get("STATISTICS_DP_EPSILON")
        try:
            release = publish_release(
                database(),
                signed_in_user(),
                current_keypair(),
                form.period.data or "",
                note=note or None,
                correction=bool(note),
                privacy=PrivacySettings(None if epsilon is None else float(epsilon), _budget()),
                today=date.today(),
            )
        except (ServiceError, VaultError) as exc:
            db.session.rollback()
            error = str(exc)
        else:
            db.session.commit()
            flash(f"Published release {release.release_id}.", "success")
            return redirect(url_for("analyst.dashboard"))
    return render_template("analyst/publish.html", form=form, error=error)
