"""What people do in the browser, step by step, shared by the journeys."""

from __future__ import annotations

from tests.browser.harness import Journey
from tests.conftest import StaffLogin, current_code

HOMES = {
    "case_officer": "/casework/",
    "mediator": "/mediator/",
    "respondent": "/respondent/",
    "analyst": "/analyst/",
    "admin": "/admin/users",
}


def sign_in(journey: Journey, login: StaffLogin) -> None:
    """Email and password, then the authenticator code; ends on the role's home page."""
    journey.open("/sign-in", "sign-in page")
    journey.fill("Email address", login.email)
    journey.fill("Password", login.password)
    journey.click("Continue", "security code page")
    assert journey.page.url.endswith("/sign-in/code")
    journey.fill("Security code", current_code(login.totp_secret))
    journey.click("Sign in", f"{login.role} home")
    assert journey.page.url.endswith(HOMES[login.role]), journey.page.url


def sign_out(journey: Journey) -> None:
    journey.click("Sign out", "signed out")
    assert journey.page.get_by_text("You have signed out.").is_visible()
