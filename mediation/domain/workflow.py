"""The case workflow as one transition table: states, actions, who may act, what is required."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

COMPLAINANT = "complainant"
CASE_OFFICER = "case_officer"
MEDIATOR = "mediator"
RESPONDENT = "respondent"
SYSTEM = "system"

# States, in the order of a case's life; side states after.
STATES: dict[str, str] = {
    "draft": "Draft",
    "submitted": "Submitted",
    "acknowledged": "Acknowledged",
    "triage": "Being assessed",
    "not_accepted": "Not accepted",
    "informal_resolution": "Informal resolution",
    "mediation_offered": "Mediation offered",
    "mediator_appointed": "Mediator appointed",
    "in_mediation": "In mediation",
    "agreement": "Agreement reached",
    "no_agreement": "No agreement",
    "implementation_check": "Checking the agreement is kept",
    "closed": "Closed",
    "on_hold": "On hold",
    "referred": "Referred elsewhere",
    "withdrawn": "Withdrawn",
    "respondent_declined": "Public body declined",
    "closure_contested": "Closure contested",
}
FINAL_STATES = frozenset({"closed"})
# Clocks stop in these states (on hold pauses; the others are finished or waiting on review).
CLOCK_STOPPED = frozenset({"draft", "on_hold", "closed", "withdrawn", "closure_contested"})
ACTIVE_STATES = frozenset(STATES) - {"draft", "closed", "on_hold", "closure_contested"}
# "Stay" means the action records something without moving the case.
STAY = "stay"
RESUME = "resume"

DECLINE_REASONS = frozenset({"out_of_scope", "premature", "duplicate"})
AGREEMENT_KINDS = frozenset({"full", "partial"})


@dataclass(frozen=True)
class Transition:
    """One row of the table."""

    action: str
    label: str
    sources: frozenset[str]
    target: str
    roles: frozenset[str]
    required: tuple[str, ...] = ()
    choices: Mapping[str, frozenset[str]] = field(default_factory=dict)


def _t(
    action: str,
    label: str,
    sources: set[str] | frozenset[str],
    target: str,
    roles: set[str],
    required: tuple[str, ...] = (),
    choices: Mapping[str, frozenset[str]] | None = None,
) -> Transition:
    return Transition(
        action, label, frozenset(sources), target, frozenset(roles), required, choices or {}
    )


NOT_FINAL = frozenset(STATES) - {"draft", "closed", "withdrawn", "closure_contested"}

TRANSITIONS: tuple[Transition, ...] = (
    _t("submit", "Submit the complaint", {"draft"}, "submitted", {COMPLAINANT}),
    _t("acknowledge", "Acknowledge", {"submitted"}, "acknowledged", {CASE_OFFICER}),
    _t("start_triage", "Start assessment", {"acknowledged"}, "triage", {CASE_OFFICER}),
    _t(
        "decline",
        "Do not accept",
        {"triage"},
        "not_accepted",
        {CASE_OFFICER},
        ("decline_reason", "reason"),
        {"decline_reason": DECLINE_REASONS},
    ),
    _t(
        "start_informal",
        "Try informal resolution",
        {"triage"},
        "informal_resolution",
        {CASE_OFFICER},
        ("reason",),
    ),
    _t(
        "offer_mediation",
        "Offer mediation",
        {"triage", "informal_resolution"},
        "mediation_offered",
        {CASE_OFFICER},
    ),
    _t(
        "respondent_decline",
        "Decline mediation",
        {"mediation_offered"},
        "respondent_declined",
        {RESPONDENT},
        ("reason",),
    ),
    _t(
        "appoint_mediator",
        "Appoint a mediator",
        {"mediation_offered"},
        "mediator_appointed",
        {CASE_OFFICER},
        ("mediator_id",),
    ),
    _t(
        "mediator_decline",
        "Decline the case",
        {"mediator_appointed"},
        "mediation_offered",
        {MEDIATOR},
        ("reason",),
    ),
    _t("begin_mediation", "Begin mediation", {"mediator_appointed"}, "in_mediation", {MEDIATOR}),
    _t(
        "record_agreement",
        "Record an agreement",
        {"in_mediation"},
        "agreement",
        {MEDIATOR},
        ("agreement",),
        {"agreement": AGREEMENT_KINDS},
    ),
    _t(
        "record_no_agreement",
        "Record no agreement",
        {"in_mediation"},
        "no_agreement",
        {MEDIATOR},
        ("reason",),
    ),
    _t(
        "resolve_informally",
        "Record informal resolution",
        {"informal_resolution"},
        "implementation_check",
        {CASE_OFFICER},
        ("reason",),
    ),
    _t(
        "check_implementation",
        "Check the agreement is kept",
        {"agreement"},
        "implementation_check",
        {CASE_OFFICER},
    ),
    _t(
        "refer",
        "Refer elsewhere",
        {"triage", "no_agreement", "respondent_declined"},
        "referred",
        {CASE_OFFICER},
        ("referred_to",),
    ),
    _t(
        "close",
        "Close the case",
        {
            "implementation_check",
            "no_agreement",
            "respondent_declined",
            "not_accepted",
            "referred",
            "withdrawn",
        },
        "closed",
        {CASE_OFFICER},
        ("result",),
    ),
    _t("put_on_hold", "Put on hold", ACTIVE_STATES, "on_hold", {CASE_OFFICER}, ("reason",)),
    _t("resume", "Take off hold", {"on_hold"}, RESUME, {CASE_OFFICER}),
    _t("withdraw", "Withdraw the complaint", NOT_FINAL, "withdrawn", {COMPLAINANT}),
    _t(
        "contest_closure",
        "Contest the closure",
        {"closed"},
        "closure_contested",
        {COMPLAINANT},
        ("reason",),
    ),
    _t(
        "uphold_closure",
        "Keep the case closed",
        {"closure_contested"},
        "closed",
        {CASE_OFFICER},
        ("reason",),
    ),
    _t("reopen", "Reopen the case", {"closure_contested"}, "triage", {CASE_OFFICER}, ("reason",)),
    _t(
        "report_adverse_treatment",
        "Report adverse treatment",
        frozenset(STATES) - {"draft"},
        STAY,
        {COMPLAINANT},
        ("reason",),
    ),
)

BY_ACTION: dict[str, Transition] = {t.action: t for t in TRANSITIONS}


class TransitionRefused(Exception):
    """An action that the workflow does not allow; the message is safe to show."""


class ActionNotAllowedInState(TransitionRefused):
    pass


class RoleNotAllowed(TransitionRefused):
    pass


class MissingFields(TransitionRefused):
    def __init__(self, message: str, fields: tuple[str, ...]) -> None:
        super().__init__(message)
        self.fields = fields


@dataclass(frozen=True)
class Plan:
    """What performing an action will do: the transition and the state it ends in."""

    transition: Transition
    from_state: str
    to_state: str


def plan(
    state: str,
    action: str,
    role: str,
    fields: Mapping[str, object],
    *,
    state_before_hold: str | None = None,
) -> Plan:
    """Check an action against the table; raise a TransitionRefused saying why not."""
    transition = BY_ACTION.get(action)
    if transition is None:
        raise ActionNotAllowedInState(f"There is no action called {action!r}.")
    if role not in transition.roles:
        raise RoleNotAllowed(f"Your role cannot {transition.label.lower()}.")
    if state not in transition.sources:
        raise ActionNotAllowedInState(
            f"You cannot {transition.label.lower()} while the case is "
            f"{STATES.get(state, state).lower()}."
        )
    missing = tuple(name for name in transition.required if not str(fields.get(name) or "").strip())
    if missing:
        raise MissingFields(
            "Fill in: " + ", ".join(name.replace("_", " ") for name in missing) + ".", missing
        )
    for name, allowed in transition.choices.items():
        if str(fields.get(name)) not in allowed:
            raise MissingFields(f"Choose a valid {name.replace('_', ' ')}.", (name,))
    if transition.target == STAY:
        target = state
    elif transition.target == RESUME:
        if not state_before_hold or state_before_hold not in STATES:
            raise ActionNotAllowedInState("The case has no state to go back to.")
        target = state_before_hold
    else:
        target = transition.target
    return Plan(transition, state, target)


def available_actions(state: str, role: str) -> list[Transition]:
    """The actions a role can take on a case in this state, in table order."""
    return [t for t in TRANSITIONS if state in t.sources and role in t.roles]
