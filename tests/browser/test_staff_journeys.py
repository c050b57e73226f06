"""Each staff role signs in with password and authenticator code in a real browser, and
every page in its navigation passes the checks; the admin's new colleague sets up from the link."""

from __future__ import annotations

import re

import pyotp
import pytest

from tests.browser.actions import HOMES, sign_in, sign_out
from tests.browser.harness import Journeys
from tests.conftest import StaffFactory

ROLES = list(HOMES)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_signs_in_with_a_code_and_every_page_of_its_menu_works(
    role: str, journeys: Journeys, make_staff: StaffFactory
) -> None:
    make_staff("case_officer")  # a custodian exists on every real service
    login = make_staff(role) if role != "case_officer" else make_staff("case_officer")
    person = journeys(role)
    sign_in(person, login)
    menu = person.page.get_by_role("navigation", name="Main").get_by_role("link")
    labels = [text.strip() for text in menu.all_inner_texts()]
    assert labels, "a signed-in person sees a menu"
    for label in labels:
        person.click(label, f"menu {label}", role="link")
        assert (
            person.page.get_by_role("link", name=label, exact=True).get_attribute("aria-current")
            == "page"
        )
    sign_out(person)
    # Signed out means signed out: the home page sends the browser back to sign in.
    person.open(HOMES[role], "home after signing out")
    assert "/sign-in" in person.page.url


def test_a_wrong_password_is_a_clear_error_and_nothing_more(
    journeys: Journeys, make_staff: StaffFactory
) -> None:
    login = make_staff("analyst")
    person = journeys("analyst")
    person.open("/sign-in", "sign-in page")
    person.fill("Email address", login.email)
    person.fill("Password", "not the password at all")
    person.click("Continue", "refused")
    assert (
        person.page.get_by_role("alert")
        .get_by_text("Enter a correct email address and password")
        .is_visible()
    )
    # What was typed as the email is kept; the password is not sent back.
    assert person.page.get_by_label("Email address").input_value() == login.email
    assert person.page.get_by_label("Password").input_value() == ""


def test_admin_creates_a_user_who_sets_up_from_the_link_and_signs_in(
    journeys: Journeys, make_staff: StaffFactory
) -> None:
    admin = make_staff("admin")
    operator = journeys("admin")
    sign_in(operator, admin)
    operator.click("Add a user", "add a user", role="link")
    operator.fill("Full name", "Nadia Okonkwo-Brierley")
    operator.fill("Email address", "nadia.ob@service.example.org")
    operator.page.get_by_label("Mediator", exact=True).check()
    operator.click("Create account and set-up link", "account created")
    link = operator.page.locator("code.secret").inner_text().strip()
    assert re.match(r"^http://127\.0\.0\.1:\d+/set-up/\S+$", link), link
    operator.click("Back to users", "users with the invited person", role="link")
    assert operator.page.get_by_role("row", name=re.compile("Nadia Okonkwo-Brierley")).is_visible()

    newcomer = journeys("new mediator")
    newcomer.open(link, "set-up link")
    newcomer.fill("Choose a password", "a long and private passphrase")
    newcomer.fill("Type the password again", "a long and private passphrase")
    newcomer.click("Save password", "password set, recovery key shown")
    assert newcomer.page.locator("code.secret").inner_text().strip()
    newcomer.click("Continue to sign in", "sign-in page", role="link")
    newcomer.fill("Email address", "nadia.ob@service.example.org")
    newcomer.fill("Password", "a long and private passphrase")
    newcomer.click("Continue", "set up the authenticator")
    assert newcomer.page.url.endswith("/sign-in/set-up-authenticator")
    secret = newcomer.page.locator("code.secret").inner_text().strip()
    newcomer.fill("Security code", pyotp.TOTP(secret).now())
    newcomer.click("Confirm and sign in", "mediator home")
    assert newcomer.page.url.endswith("/mediator/")
    # The link was single-use.
    newcomer.open(link, "used set-up link", status=404)


def test_a_public_bodys_member_of_staff_makes_and_revokes_an_api_token(
    journeys: Journeys, make_staff: StaffFactory
) -> None:
    make_staff("case_officer")
    login = make_staff("respondent")
    person = journeys("respondent")
    sign_in(person, login)
    person.click("API tokens", "API tokens", role="link")
    person.fill("What will use the token", "Our complaints system")
    person.fill("Your password", "not my password")
    person.click("Make a token", "token refused")
    assert (
        person.page.get_by_role("alert").get_by_text("Enter your password correctly").is_visible()
    )
    assert person.page.get_by_label("What will use the token").input_value() == (
        "Our complaints system"
    )
    person.fill("Your password", login.password)
    person.click("Make a token", "token made")
    token = person.page.locator("#token").inner_text()
    assert re.fullmatch(r"cmr_[A-Za-z0-9_-]{43}", token)
    person.click("Revoke the token used by Our complaints system", "token revoked")
    assert person.page.get_by_text("The token was revoked").is_visible()
    assert person.page.get_by_text("You have no tokens.").is_visible()
