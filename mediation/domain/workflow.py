"""The case workflow as one transition table: states, actions, who may act, what is required."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mediation.domain.taxonomy import load_taxonomy

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
# Where a case is referred, as codes: stored with the event and the audit entry, which keep
# no free text. Anything more (a named caseworker, say) goes in the sealed reason.
REFERRAL_DESTINATIONS: tuple[tuple[str, str], ...] = (
    ("local_government_ombudsman", "Local Government and Social Care Ombudsman"),
    ("parliamentary_ombudsman", "Parliamentary and Health Service Ombudsman"),
    ("housing_ombudsman", "Housing Ombudsman"),
    ("charity_commission", "Charity Commission"),
    ("information_commissioner", "Information Commissioner's Office"),
    ("equality_advisory_service", "Equality Advisory and Support Service"),
    ("body_complaints_procedure", "The public body's own complaints procedure"),
    ("legal_advice", "Independent legal advice"),
    ("other", "Another route (say which in the reason)"),
)
REFERRED_TO = frozenset(code for code, _ in REFERRAL_DESTINATIONS)
REFERRAL_LABELS = dict(REFERRAL_DESTINATIONS)
_CHOICE_MESSAGES = {"referred_to": "Choose where the case is referred to from the list."}


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
    # Fields required only when another field has a value: {(field, value): (required, ...)}.
    required_when: Mapping[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    # Facts about the case's records that must hold (see GUARDS).
    guards: tuple[str, ...] = ()


def _t(
    action: str,
    label: str,
    sources: set[str] | frozenset[str],
    target: str,
    roles: set[str],
    required: tuple[str, ...] = (),
    choices: Mapping[str, frozenset[str]] | None = None,
    *,
    required_when: Mapping[tuple[str, str], tuple[str, ...]] | None = None,
    guards: tuple[str, ...] = (),
) -> Transition:
    return Transition(
        action,
        label,
        frozenset(sources),
        target,
        frozenset(roles),
        required,
        choices or {},
        required_when or {},
        guards,
    )


NOT_FINAL = frozenset(STATES) - {"draft", "closed", "withdrawn", "closure_contested"}
# States in which the public body may be engaged (once a disclosure statement is approved).
RESPONDENT_ACTIVE = frozenset(
    {
        "informal_resolution",
        "mediation_offered",
        "mediator_appointed",
        "in_mediation",
        "agreement",
        "implementation_check",
    }
)
RESULTS = frozenset(result.id for result in load_taxonomy().results)
NO_CONFLICT = frozenset({"confirmed"})

# Facts the service layer establishes from the case's records; a transition that names a
# fact is refused, with this message, until it holds.
GUARDS: dict[str, str] = {
    "offer_pending": "There is no offer of this case waiting for your answer.",
    "offer_accepted": "Accept the case before declaring your interests.",
    "mediator_confirmed": (
        "The mediator has not yet accepted the case and declared that they have no conflict."
    ),
    "agreement_to_mediate_signed": "Both parties must sign the agreement to mediate first.",
    "respondent_agreed": "The public body has not yet agreed to mediation.",
    "respondent_not_answered": "The public body has already answered the offer of mediation.",
    "statement_approved": "There is no approved disclosure statement for the public body yet.",
    "outcome_recorded": "Record the outcome in the standard format before closing the case.",
}

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
        required_when={("decline_reason", "duplicate"): ("duplicate_of",)},
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
        "respondent_accept",
        "Agree to mediation",
        {"mediation_offered", "mediator_appointed"},
        STAY,
        {RESPONDENT},
        guards=("statement_approved", "respondent_not_answered"),
    ),
    _t(
        "respondent_decline",
        "Decline mediation",
        {"mediation_offered", "mediator_appointed"},
        "respondent_declined",
        {RESPONDENT},
        ("reason",),
        guards=("statement_approved", "respondent_not_answered"),
    ),
    _t(
        "respondent_reply",
        "Reply to the complaint",
        RESPONDENT_ACTIVE,
        STAY,
        {RESPONDENT},
        ("reply",),
        guards=("statement_approved",),
    ),
    _t(
        "propose_resolution",
        "Propose a resolution",
        RESPONDENT_ACTIVE - {"agreement", "implementation_check"},
        STAY,
        {RESPONDENT},
        ("proposal",),
        guards=("statement_approved",),
    ),
    _t(
        "appoint_mediator",
        "Propose a mediator",
        {"mediation_offered"},
        "mediator_appointed",
        {CASE_OFFICER},
        ("mediator_id", "summary"),
    ),
    _t(
        "cancel_appointment",
        "Take the case back from the mediator",
        {"mediator_appointed"},
        "mediation_offered",
        {CASE_OFFICER},
        ("reason",),
    ),
    _t(
        "mediator_accept",
        "Accept the case",
        {"mediator_appointed"},
        STAY,
        {MEDIATOR},
        guards=("offer_pending",),
    ),
    _t(
        "declare_no_conflict",
        "Declare no conflict of interest",
        {"mediator_appointed"},
        STAY,
        {MEDIATOR},
        ("no_conflict",),
        {"no_conflict": NO_CONFLICT},
        guards=("offer_accepted",),
    ),
    _t(
        "mediator_decline",
        "Decline the case",
        {"mediator_appointed"},
        "mediation_offered",
        {MEDIATOR},
        ("reason",),
    ),
    _t(
        "begin_mediation",
        "Begin mediation",
        {"mediator_appointed"},
        "in_mediation",
        {MEDIATOR},
        guards=("mediator_confirmed", "respondent_agreed", "agreement_to_mediate_signed"),
    ),
    _t(
        "mediator_withdraw",
        "Withdraw as mediator",
        {"in_mediation"},
        "mediation_offered",
        {MEDIATOR},
        ("reason",),
    ),
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
        {"referred_to": REFERRED_TO},
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
        {"result": RESULTS},
        guards=("outcome_recorded",),
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


class GuardFailed(TransitionRefused):
    """A fact the transition needs does not hold yet (e.g. no approved statement)."""

    def __init__(self, message: str, guard: str) -> None:
        super().__init__(message)
        self.guard = guard


@dataclass(frozen=True)
class Plan:
    """What performing an action will do: the transition and the state it ends in."""

    transition: Transition
    from_state: str
    to_state: str


def _missing(fields: Mapping[str, object], names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(name for name in names if not str(fields.get(name) or "").strip())


def plan(
    state: str,
    action: str,
    role: str,
    fields: Mapping[str, object],
    *,
    state_before_hold: str | None = None,
    facts: Mapping[str, bool] | None = None,
) -> Plan:
    """Check an action against the table; raise a TransitionRefused saying why not.

    Checked in order: the action exists, the role may take it, the state allows it, the
    required fields are filled and valid, then the guards hold (a missing fact is false).
    """
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
    missing = _missing(fields, transition.required)
    for (name, value), needed in transition.required_when.items():
        if str(fields.get(name) or "") == value:
            missing += _missing(fields, needed)
    if missing:
        raise MissingFields(
            "Fill in: " + ", ".join(name.replace("_", " ") for name in missing) + ".", missing
        )
    for name, allowed in transition.choices.items():
        if str(fields.get(name)) not in allowed:
            message = _CHOICE_MESSAGES.get(name, f"Choose a valid {name.replace('_', ' ')}.")
            raise MissingFields(message, (name,))
    known = facts or {}
    for guard in transition.guards:
        if not known.get(guard, False):
            raise GuardFailed(GUARDS[guard], guard)
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


def state_label(state: str) -> str:
    return STATES.get(state, state.replace("_", " ").capitalize())


def _check_table() -> None:
    # The table is data: a typo in a state, role or guard name should fail at import.
    roles = {COMPLAINANT, CASE_OFFICER, MEDIATOR, RESPONDENT, SYSTEM}
    for t in TRANSITIONS:
        assert t.sources <= set(STATES), t.action
        assert t.target in STATES or t.target in {STAY, RESUME}, t.action
        assert t.roles <= roles, t.action
        assert set(t.guards) <= set(GUARDS), t.action
    assert len(BY_ACTION) == len(TRANSITIONS), "action names must be unique"


_check_table()
