"""The public statistics pages, the open data, the analysts' dashboard and the publish
button; and the command line."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select

from mediation.extensions import db
from mediation.models.releases import StatisticsRelease
from mediation.models.staff import StaffUser
from mediation.services import keyring, statistical_records
from mediation.services.statistics_releases import publish_release
from tests import seeded
from tests.conftest import TEST_PASSWORD, AuthActions, StaffFactory, counted
from tests.statistics.conftest import add_cases, historic

PUBLIC_PAGES = (
    "/statistics/",
    "/statistics/trend",
    "/statistics/categories",
    "/statistics/body-types",
    "/statistics/regions",
    "/statistics/outcomes",
    "/statistics/time-to-resolution",
    "/statistics/releases",
    "/statistics/methodology",
)
LAST_YEAR = date.today().year - 1


def seed_and_publish(app: Flask, make_staff: StaffFactory) -> None:
    """A year of cases (one with seeded secrets), published as a year and a quarter."""
    login = make_staff("case_officer")
    with app.app_context():
        user = db.session.get(StaffUser, login.id)
        assert user is not None
        key = keyring.unlock(db.session, user, TEST_PASSWORD)
        assert key is not None
        from tests.statistics.conftest import Officer

        officer = Officer(user, key, login.email)
        start = date(LAST_YEAR, 1, 5)
        add_cases(
            officer,
            [
                historic(
                    start + timedelta(days=i * 3),
                    start + timedelta(days=i * 3 + 40 + i % 90),
                    region=("london", "north_west", "south_east")[i % 3],
                    categories=(("funding_process",), ("consultation",))[i % 2],
                    organisation=f"org{i}",
                    record_key=i * 2654435761 % 2**31,
                )
                for i in range(90)
            ],
        )
        filed = seeded.file_seeded()
        filed.case.submitted_on = date(LAST_YEAR, 3, 1)
        filed.case.closed_on = date(LAST_YEAR, 6, 1)
        statistical_records.record_at_intake(
            db.session,
            filed.case,
            categories=["independence"],
            body_type="local_authority",
            region="north_west",
            size_band="micro",
        )
        for period in (f"{LAST_YEAR}-Q2", str(LAST_YEAR)):
            publish_release(db.session, user, key, period)
        db.session.commit()


def test_every_statistics_page_works_before_anything_is_published(client: FlaskClient) -> None:
    for path in PUBLIC_PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
    assert client.get("/statistics/latest.json").status_code == 404
    assert client.get("/statistics/latest.json").is_json
    assert client.get("/statistics/releases/2025-v1.json").status_code == 404
    assert client.get("/statistics/releases/2025-v1").status_code == 404


def test_the_public_navigation_links_to_the_statistics(client: FlaskClient) -> None:
    home = client.get("/").text
    assert 'href="/statistics/"' in home


def test_open_data_json_has_exactly_the_documented_shape(
    app: Flask, client: FlaskClient, make_staff: StaffFactory
) -> None:
    seed_and_publish(app, make_staff)
    latest = client.get("/statistics/latest.json")
    assert latest.status_code == 200
    document = latest.get_json()
    assert set(document) == {"release", "tables"}
    assert document["release"]["id"] == f"{LAST_YEAR}-v1"
    for key in ("id", "period", "published", "sha256"):
        assert document["release"][key]
    assert re.fullmatch(r"[0-9a-f]{64}", document["release"]["sha256"])
    date.fromisoformat(document["release"]["published"])
    for table in document["tables"]:
        assert set(table) == {"name", "dimensions", "rows"}
        for row in table["rows"]:
            assert set(row) == {*table["dimensions"], "count", "suppressed"}
            assert isinstance(row["suppressed"], bool)
            assert row["suppressed"] is (row["count"] is None)
            assert row["count"] is None or (isinstance(row["count"], int) and row["count"] % 5 == 0)
    by_id = client.get(f"/statistics/releases/{LAST_YEAR}-Q2-v1.json").get_json()
    assert by_id["release"]["period"] == f"{LAST_YEAR}-Q2"
    assert [t["name"] for t in by_id["tables"]] == ["national_by_quarter"]


def test_csv_has_the_same_rows_as_the_json(
    app: Flask, client: FlaskClient, make_staff: StaffFactory
) -> None:
    seed_and_publish(app, make_staff)
    document = client.get(f"/statistics/releases/{LAST_YEAR}-v1.json").get_json()
    response = client.get(f"/statistics/releases/{LAST_YEAR}-v1.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    expected = [(t["name"], row) for t in document["tables"] for row in t["rows"]]
    assert len(rows) == len(expected)
    for line, (name, row) in zip(rows, expected, strict=True):
        assert line["table"] == name
        for dim, value in row.items():
            if dim == "count":
                assert line["count"] == ("" if value is None else str(value))
            elif dim == "suppressed":
                assert line["suppressed"] == ("true" if value else "false")
            else:
                assert line[dim] == value
    one = client.get(f"/statistics/releases/{LAST_YEAR}-v1.csv?table=region_by_year").text
    assert one.splitlines()[0] == "release,period,table,year,region,count,suppressed"
    assert client.get(f"/statistics/releases/{LAST_YEAR}-v1.csv?table=nope").status_code == 404
    assert client.get("/statistics/latest.csv").status_code == 200


def test_pages_show_charts_as_accessible_svg_each_with_its_data_table(
    app: Flask, client: FlaskClient, make_staff: StaffFactory
) -> None:
    seed_and_publish(app, make_staff)
    for path in PUBLIC_PAGES[1:7]:
        page = client.get(path).text
        assert page.count("<svg") == 1, path
        svg = page[page.index("<svg") : page.index("</svg>")]
        assert 'role="img"' in svg and "<title id=" in svg and "<desc id=" in svg
        assert "aria-labelledby" in svg
        assert "<table" in page[page.index("</svg>") :], path
        assert page.count("<h1") == 1
    methodology = client.get("/statistics/methodology").text
    assert "fewer than 10" in methodology and "nearest 5" in methodology
    assert "cell-key" in methodology and "more than half" in methodology


def test_no_statistics_page_or_file_contains_anything_a_complainant_wrote(
    app: Flask, client: FlaskClient, make_staff: StaffFactory
) -> None:
    seed_and_publish(app, make_staff)
    with app.app_context():
        references = db.session.execute(select(StatisticsRelease.release_id)).scalars().all()
        from mediation.models.cases import Case

        case_references = db.session.execute(select(Case.reference)).scalars().all()
    paths = [*PUBLIC_PAGES, "/statistics/latest.json", "/statistics/latest.csv"]
    for release_id in references:
        paths += [f"/statistics/releases/{release_id}{suffix}" for suffix in ("", ".json", ".csv")]
    for path in paths:
        body = client.get(path).get_data(as_text=True)
        for secret in seeded.SEEDED_STRINGS:
            assert secret not in body, (path, secret)
        assert not any(reference in body for reference in case_references), path


def test_a_tampered_release_takes_the_pages_down_with_a_clear_message(
    app: Flask, client: FlaskClient, make_staff: StaffFactory
) -> None:
    from sqlalchemy import text

    from tests.conftest import ON_POSTGRES

    seed_and_publish(app, make_staff)
    with app.app_context():
        if ON_POSTGRES:
            db.session.execute(text("SET session_replication_role = replica"))
        else:
            db.session.execute(text("DROP TRIGGER statistics_releases_no_update"))
        db.session.execute(text("UPDATE statistics_releases SET sha256 = :bad"), {"bad": "0" * 64})
        db.session.commit()
        if ON_POSTGRES:
            db.session.execute(text("SET session_replication_role = DEFAULT"))
            db.session.commit()
    response = client.get("/statistics/")
    assert response.status_code == 503
    assert "failed its checksum" in response.text


def test_the_analyst_sees_releases_compares_them_and_exports_csv(
    app: Flask, client: FlaskClient, auth: AuthActions, make_staff: StaffFactory
) -> None:
    seed_and_publish(app, make_staff)
    auth.sign_in(make_staff("analyst"))
    dashboard = client.get("/analyst/")
    assert dashboard.status_code == 200
    assert f"{LAST_YEAR}-v1" in dashboard.text and f"{LAST_YEAR}-Q2-v1" in dashboard.text
    assert "Publish a release" not in dashboard.text
    compared = client.get(f"/analyst/compare?before={LAST_YEAR}-Q2-v1&after={LAST_YEAR}-v1")
    assert compared.status_code == 200 and "compared with" in compared.text
    as_csv = client.get(
        f"/analyst/compare?before={LAST_YEAR}-Q2-v1&after={LAST_YEAR}-v1&format=csv"
    )
    assert as_csv.mimetype == "text/csv"
    assert (
        as_csv.text.splitlines()[0] == f"table,dimensions,{LAST_YEAR}-Q2-v1,{LAST_YEAR}-v1,change"
    )
    assert "Choose two published releases" in client.get("/analyst/compare?before=x").text
    export = client.get("/analyst/export.csv")
    assert export.mimetype == "text/csv"
    assert {line.split(",")[0] for line in export.text.splitlines()[1:]} == {
        f"{LAST_YEAR}-v1",
        f"{LAST_YEAR}-Q2-v1",
    }
    assert client.get("/analyst/publish").status_code == 403
    assert client.post("/analyst/publish", data={"period": str(LAST_YEAR)}).status_code == 403


def test_a_case_officer_publishes_with_the_button(
    app: Flask, client: FlaskClient, auth: AuthActions, make_staff: StaffFactory
) -> None:
    login = make_staff("case_officer")
    auth.sign_in(login)
    assert "Publish a release" in client.get("/analyst/").text
    form = client.get("/analyst/publish")
    assert form.status_code == 200 and 'name="period"' in form.text
    refused = client.post("/analyst/publish", data={"period": f"{LAST_YEAR}-Q2..{LAST_YEAR}-Q3"})
    assert refused.status_code == 200
    assert "rolling window" in refused.text and "<title>Error:" in refused.text
    future = client.post("/analyst/publish", data={"period": str(date.today().year + 1)})
    assert "has not closed yet" in future.text
    done = client.post("/analyst/publish", data={"period": f"{LAST_YEAR}-Q4"})
    assert done.status_code == 302
    assert f"Published release {LAST_YEAR}-Q4-v1" in client.get(done.headers["Location"]).text
    again = client.post("/analyst/publish", data={"period": f"{LAST_YEAR}-Q4"})
    assert "already published" in again.text
    with app.app_context():
        release = db.session.execute(select(StatisticsRelease)).scalar_one()
        assert release.published_by_id == login.id


def test_stats_commands_publish_with_a_progress_bar_list_and_correct(
    app: Flask, runner: FlaskCliRunner, make_staff: StaffFactory
) -> None:
    login = make_staff("case_officer")
    bad = runner.invoke(
        args=["stats", "publish", "--period", "last-12-months", "--officer", login.email],
        input=f"{TEST_PASSWORD}\n",
    )
    assert bad.exit_code == 1 and "rolling window" in bad.output
    done = runner.invoke(
        args=["stats", "publish", "--period", f"{LAST_YEAR}-Q1", "--officer", login.email],
        input=f"{TEST_PASSWORD}\n",
    )
    assert done.exit_code == 0, done.output
    assert "Opening 0 statistical records" in done.output
    assert f"Published {LAST_YEAR}-Q1-v1" in done.output
    listed = runner.invoke(args=["stats", "list"])
    assert f"{LAST_YEAR}-Q1-v1" in listed.output and "current" in listed.output
    nothing = runner.invoke(
        args=[
            "stats",
            "correct",
            "--period",
            f"{LAST_YEAR}-Q1",
            "--note",
            "Checked",
            "--officer",
            login.email,
        ],
        input=f"{TEST_PASSWORD}\n",
    )
    assert nothing.exit_code == 1 and "Nothing changed" in nothing.output
    assert runner.invoke(args=["stats", "verify"]).exit_code == 0
    wrong = runner.invoke(
        args=["stats", "publish", "--period", f"{LAST_YEAR}-Q2", "--officer", login.email],
        input="not the password\n",
    )
    assert wrong.exit_code == 1
    analyst = make_staff("analyst")
    refused = runner.invoke(
        args=["stats", "publish", "--period", f"{LAST_YEAR}-Q2", "--officer", analyst.email],
        input=f"{TEST_PASSWORD}\n",
    )
    assert refused.exit_code == 1 and "case officer" in refused.output
    budget = runner.invoke(args=["stats", "budget", "--year", str(LAST_YEAR)])
    assert "0.000 spent" in budget.output


@pytest.mark.parametrize("path", ["/analyst/", "/analyst/compare", "/analyst/export.csv"])
def test_signed_out_visitors_cannot_reach_the_dashboard(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_the_analyst_area_and_public_pages_never_query_a_case(
    app: Flask, client: FlaskClient, auth: AuthActions, make_staff: StaffFactory
) -> None:
    """Only releases are read: no statement touches cases, records, keys or identities."""
    seed_and_publish(app, make_staff)
    auth.sign_in(make_staff("analyst"))
    with counted(app) as sent:
        for path in (
            "/analyst/",
            f"/analyst/compare?before={LAST_YEAR}-Q2-v1&after={LAST_YEAR}-v1",
            "/analyst/export.csv",
            *PUBLIC_PAGES,
            "/statistics/latest.json",
        ):
            assert client.get(path).status_code == 200, path
    statements = [statement.lower() for statement in sent]
    assert statements
    forbidden = re.compile(
        r"\b(cases|statistical_records|sealed_keys|case_messages|case_documents|"
        r"statistics_keys|statistics_key_grants|statistics_symmetric_keys|organisation_pseudonyms|"
        r"organisation_digest_keys)\b"
    )
    touched = [s for s in statements if forbidden.search(s)]
    assert touched == []
