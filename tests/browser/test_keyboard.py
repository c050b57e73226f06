"""Keyboard only: the skip link comes first, every control is reached in order and shows
focus visibly, and a member of staff can sign in without touching a mouse."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from flask import Flask

from tests.browser.actions import sign_in
from tests.browser.harness import Journey, Journeys
from tests.browser.keyboard import tab_through
from tests.conftest import StaffFactory, current_code


def assert_keyboard_works(journey: Journey, page_name: str) -> None:
    page = journey.page
    described, stops = tab_through(page)
    assert described, f"{page_name}: nothing can take focus"
    order = [stop.index for stop in stops]
    assert order, f"{page_name}: Tab moved focus nowhere"
    assert "skip-link" in described[order[0]], f"{page_name}: first stop is {described[order[0]]}"
    missed = sorted(set(range(len(described))) - set(order))
    assert not missed, f"{page_name}: never reached by Tab: {[described[i] for i in missed]}"
    assert order == sorted(order), f"{page_name}: focus order differs from reading order"
    invisible = [stop.description for stop in stops if not stop.changed]
    assert not invisible, f"{page_name}: focus is not visible on {invisible}"
    off_screen = [
        stop.description
        for stop in stops
        if stop.box is None or stop.box["width"] <= 1 or stop.box["height"] <= 1
    ]
    assert not off_screen, f"{page_name}: focused but not shown: {off_screen}"


def assert_skip_link_jumps_to_main(journey: Journey) -> None:
    page = journey.page
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.keyboard.press("Tab")
    skip = page.locator("a.skip-link")
    assert skip.evaluate("(el) => el === document.activeElement")
    assert skip.is_visible() and (skip.bounding_box() or {"width": 0})["width"] > 50
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main-content"


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/sign-in",
        "/privacy",
        "/accessibility",
        "/my-complaint/new/openness",
        "/my-complaint/sign-in",
    ],
)
def test_public_pages_are_usable_by_keyboard_alone(path: str, journeys: Journeys) -> None:
    visitor = journeys("visitor")
    visitor.open(path, f"page {path}")
    assert_keyboard_works(visitor, path)
    visitor.open(path, f"page {path} again")
    assert_skip_link_jumps_to_main(visitor)


def test_staff_sign_in_by_keyboard_alone(journeys: Journeys, make_staff: StaffFactory) -> None:
    login = make_staff("case_officer")
    person = journeys("case officer")
    person.open("/sign-in", "sign-in page")
    page = person.page

    def tab_to(selector: str) -> None:
        for _ in range(30):
            page.keyboard.press("Tab")
            if page.locator(selector).evaluate("(el) => el === document.activeElement"):
                return
        raise AssertionError(f"Tab never reached {selector}")

    tab_to("#email")
    page.keyboard.type(login.email)
    page.keyboard.press("Tab")
    page.keyboard.type("a wrong password")
    person.follow(lambda: page.keyboard.press("Enter"), "refused by keyboard")
    # The error summary takes focus, and its link leads to the field with the problem.
    assert page.evaluate("() => document.activeElement.className").startswith("error-summary")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "email"
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "password"
    page.keyboard.type(login.password)
    person.follow(lambda: page.keyboard.press("Enter"), "security code page")
    tab_to("#code")
    page.keyboard.type(current_code(login.totp_secret))
    person.follow(lambda: page.keyboard.press("Enter"), "case queue")
    assert urlsplit(page.url).path == "/casework/"
    assert_skip_link_jumps_to_main(person)


def _admin_new_user(journey: Journey) -> None:
    journey.click("Add a user", "add a user", role="link")


def _decide_page(journey: Journey) -> None:
    journey.click("Identity requests", "identity requests", role="link")


@pytest.mark.parametrize(
    ("role", "go"),
    [("admin", _admin_new_user), ("case_officer", _decide_page), ("mediator", None)],
)
def test_staff_pages_and_forms_show_focus_on_every_control(
    role: str,
    go: Callable[[Journey], None] | None,
    app: Flask,
    journeys: Journeys,
    make_staff: StaffFactory,
) -> None:
    login = make_staff(role)
    person = journeys(role)
    sign_in(person, login)
    assert_keyboard_works(person, f"{role} home")
    if go is not None:
        person.open(person.page.url, "home again")
        go(person)
        assert_keyboard_works(person, person.page.url)
