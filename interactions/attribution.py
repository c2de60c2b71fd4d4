"""Who an interaction is attributed to (its rep and team), and who may say so.

The rule (docs/access.md):
- A person records interactions as themselves, in a team they belong to.
- Supervisors may attribute to another rep, or change the rep or team, within
  the teams they supervise (both the old and the new team); admins anywhere.
- An API client (trusted by its scope) names the rep; the rep must belong to the
  team it names, and without a team the rep's own team is taken.
- Every change of rep or team after logging is an audit entry
  (`interaction.attributed`), as is logging in someone else's name.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from core.audit import audit_record
from crm import access
from crm.models import Team, TeamMembership
from interactions.models import Interaction
from interactions.services import interaction_log, interaction_update

ATTRIBUTED = "interaction.attributed"


def _is_member(user: Any, team: Team) -> bool:
    return TeamMembership.objects.filter(user=user, team=team).exists()


def _default_team(rep: Any) -> Team | None:
    membership = (
        TeamMembership.objects.filter(user=rep).select_related("team").order_by("pk").first()
    )
    return membership.team if membership else None


def _check(*, actor: Any, is_api_client: bool, rep: Any, team: Team | None) -> None:
    """Raise ValidationError naming `rep` or `team` when the attribution is not allowed."""
    if rep is not None and team is not None and not _is_member(rep, team):
        raise ValidationError({"team": [f"{rep.get_username()} is not a member of this team."]})
    if is_api_client or (rep is not None and rep.pk == actor.pk):
        return  # a rep as themselves: a member of the team, checked above (or no team)
    if access.is_admin(actor):
        return
    if team is None or team.pk not in access.supervised_team_ids(actor):
        raise ValidationError(
            {"rep": ["You record interactions as yourself (supervisors: for their teams)."]}
        )


def _audit(*, actor: Any, api_client: Any, interaction: Interaction, before: dict) -> None:
    after = {"rep": interaction.rep_id, "team": interaction.team_id}
    audit_record(
        actor=actor if api_client is None else None,
        actor_label=f"api-client:{api_client.name}" if api_client is not None else "",
        action=ATTRIBUTED,
        target_type="interaction",
        target_id=interaction.pk,
        customer_id=interaction.customer_id,
        details={name: [before[name], after[name]] for name in after if before[name] != after[name]}
        | {"by": "api_client" if api_client is not None else "person"},
    )


@transaction.atomic
def interaction_log_attributed(
    *, actor: Any, api_client: Any = None, **log_arguments: Any
) -> Interaction:
    """`interaction_log` with the attribution rule applied: `rep` defaults to the
    person logging (an API client names it), `team` to the rep's team."""
    is_api_client = api_client is not None
    if "rep" not in log_arguments and not is_api_client:
        log_arguments["rep"] = actor
    rep = log_arguments.get("rep")
    if log_arguments.get("team") is None and rep is not None:
        log_arguments["team"] = _default_team(rep)
    _check(actor=actor, is_api_client=is_api_client, rep=rep, team=log_arguments.get("team"))
    # Inside this function's transaction already: interaction_log's own atomic would
    # add a savepoint (two more round trips on every create) that nothing rolls back to.
    interaction = interaction_log.__wrapped__(**log_arguments)
    if not is_api_client and (rep is None or rep.pk != actor.pk):
        _audit(
            actor=actor,
            api_client=None,
            interaction=interaction,
            before={"rep": None, "team": None},
        )
    return interaction


@transaction.atomic
def interaction_update_attributed(
    *, actor: Any, api_client: Any = None, interaction: Interaction, changes: dict[str, Any]
) -> Interaction:
    """`interaction_update` with the attribution rule applied to a change of rep or
    team (both the old and the new team must be the supervisor's); audited."""
    before = {"rep": interaction.rep_id, "team": interaction.team_id}
    new_rep = changes.get("rep", interaction.rep)
    new_team = changes.get("team", interaction.team)
    changes_attribution = (getattr(new_rep, "pk", None), getattr(new_team, "pk", None)) != (
        before["rep"],
        before["team"],
    )
    if changes_attribution:
        is_api_client = api_client is not None
        _check(actor=actor, is_api_client=is_api_client, rep=new_rep, team=new_team)
        is_moved_by_supervisor = not is_api_client and not access.is_admin(actor)
        if (
            is_moved_by_supervisor
            and before["team"] is not None
            and before["team"] != getattr(new_team, "pk", None)
            and before["team"] not in access.team_ids_of(actor)
        ):
            raise ValidationError({"team": ["You may move interactions only out of your teams."]})
    interaction = interaction_update(interaction=interaction, changes=changes)
    if changes_attribution:
        _audit(actor=actor, api_client=api_client, interaction=interaction, before=before)
    return interaction
