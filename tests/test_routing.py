"""Routing and assignment on inbound messages, through the real path (ingest → pipeline job → stored
labels → routing) and the API: our users' examples, the explanation, sticky owners on follow-ups,
round robin among online agents, fallbacks, rule validation, and that every conversation lands in a
queue."""

from __future__ import annotations

import random
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from tilsvar.actions.org import do_add_team_member, do_create_team, do_create_user
from tilsvar.db import Database
from tilsvar.models import Conversation, Organization, Team, User, utcnow
from workflow_support import FakePipeline, RunJobs, conversation_of, pipeline, put_rules, set_online, workflow

from conftest import IngestFn, Seeded
from helpers import auth, json_of

__all__ = ["pipeline"]

USERS_RULES = """
rules:
  - id: shitstorm
    name: A wave of criticism goes to press
    position: 10
    when:
      all:
        - sentiment: negative
        - {field: negative_last_hour, op: ge, value: 25}
    then:
      - escalate: {team: press, reason: wave of criticism}
      - set_priority: urgent
      - require_approval: {team: press}
  - id: x-to-press
    name: X goes to the press team
    position: 20
    when: {platform: x}
    then:
      - assign_team: press
    stop: true
  - id: leads
    name: Leads go to marketing
    position: 30
    when:
      any:
        - intent: sales_lead
        - text: [tilbud, "pris*", firmaaftale]
    then:
      - assign_team: marketing
      - add_tag: lead
  - id: service
    name: Service questions to customer service
    position: 100
    then: [{assign_team: customer-service}]
"""


def _marketing(database: Database, seeded: Seeded) -> tuple[Team, User]:
    with database.session() as session:
        org = session.get_one(Organization, seeded.org.id)
        team = do_create_team(session, organization=org, name="Marketing")
        marketer = do_create_user(
            session,
            organization=org,
            email="maja@nordicrail.example",
            role="marketing",
            name="Maja Marketing",
        )
        do_add_team_member(session, team=team, user=marketer)
        return team, marketer


def test_users_examples_route_x_to_press_leads_to_marketing_service_to_customer_service(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    ingest: IngestFn,
    run_jobs: RunJobs,
    pipeline: FakePipeline,
) -> None:
    marketing, _ = _marketing(database, seeded)
    assert put_rules(client, seeded.admin_token, USERS_RULES).status_code == 200

    tweet = conversation_of(database, ingest(seeded.x_channel, "@NordicRailHelp toget er forsinket"))
    lead = conversation_of(
        database,
        ingest(seeded.fb_channel, pipeline.label("Vi vil gerne købe 200 billetter", intent="sales_lead")),
    )
    keyword_lead = conversation_of(database, ingest(seeded.fb_channel, "Hvad er prisen på en firmaaftale?"))
    question = conversation_of(database, ingest(seeded.fb_channel, "Hvornår kører næste tog til Aarhus?"))
    run_jobs()

    by_team = {
        cid: workflow(client, seeded.admin_token, cid)["team"]["id"]
        for cid in (tweet, lead, keyword_lead, question)
    }
    assert by_team == {
        tweet: seeded.press_team.id,
        lead: marketing.id,
        keyword_lead: marketing.id,
        question: seeded.service_team.id,
    }
    why = workflow(client, seeded.admin_token, keyword_lead)["explanation"]
    assert "rule 'leads' (Leads go to marketing) matched because text mentions" in why
    assert "ignored assign to team 'customer-service' (already decided by rule 'leads')" in why
    assert "X goes to the press team" in workflow(client, seeded.admin_token, tweet)["explanation"]
    # The inbox filters by team.
    page = json_of(
        client.get(f"/api/v1/conversations?view=all&team_id={marketing.id}", headers=auth(seeded.admin_token))
    )
    assert {item["id"] for item in page["items"]} == {lead, keyword_lead}
    timeline = workflow(client, seeded.admin_token, lead)["timeline"]
    assert {"assigned", "routed", "sla_policy"} <= {entry["kind"] for entry in timeline}


def test_a_shitstorm_is_escalated_to_press_with_urgent_priority_and_approval(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    ingest: IngestFn,
    run_jobs: RunJobs,
    pipeline: FakePipeline,
) -> None:
    _marketing(database, seeded)
    assert put_rules(client, seeded.admin_token, USERS_RULES).status_code == 200
    ids = []
    for n in range(25):
        text = pipeline.label(
            f"Skandale! Jeres aflysninger er en skam nr {n}", sentiment="negative", intent="complaint"
        )
        ids.append(
            conversation_of(database, ingest(seeded.fb_channel, text, author_id=f"angry{n}", minutes_ago=1))
        )
    run_jobs()
    last = workflow(client, seeded.admin_token, ids[-1])
    assert last["team"]["id"] == seeded.press_team.id
    assert last["routing"]["escalation"] == "press"
    assert last["requires_approval"] is True
    assert "wave of criticism" in last["explanation"]
    detail = json_of(client.get(f"/api/v1/conversations/{ids[-1]}", headers=auth(seeded.admin_token)))
    assert detail["priority"] == "urgent"
    # The first of the wave came before the threshold: ordinary routing.
    assert workflow(client, seeded.admin_token, ids[0])["team"]["id"] == seeded.service_team.id
    # An agent outside press may not answer the escalated conversation directly.
    refused = client.post(
        f"/api/v1/conversations/{ids[-1]}/replies",
        json={"text": "Vi beklager"},
        headers=auth(seeded.agent_token),
    )
    assert refused.status_code == 409
    assert "approval" in refused.json()["detail"]


def test_round_robin_among_online_agents_and_a_follow_up_is_not_rerouted(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    ingest: IngestFn,
    run_jobs: RunJobs,
    pipeline: FakePipeline,
) -> None:
    with database.session() as session:
        org = session.get_one(Organization, seeded.org.id)
        team = session.get_one(Team, seeded.service_team.id)
        second = do_create_user(
            session, organization=org, email="bo@nordicrail.example", role="agent", name="Bo"
        )
        do_add_team_member(session, team=team, user=second)
        second_id = second.id
    set_online(client, seeded.admin_token, seeded.agent.id)
    set_online(client, seeded.admin_token, second_id)
    first = ingest(seeded.fb_channel, "Hvor er mit hittegods?", author_id="a", external_id="root-a")
    ingest(seeded.fb_channel, "Kan jeg tage cyklen med?", author_id="b")
    ingest(seeded.fb_channel, "Hvad koster en børnebillet?", author_id="c")
    run_jobs()
    with database.reader() as session:
        assignees = list(session.scalars(select(Conversation.assignee_id).order_by(Conversation.id)))
    assert assignees == [seeded.agent.id, second_id, seeded.agent.id]
    conversation_id = conversation_of(database, first)
    assert "round robin" in workflow(client, seeded.admin_token, conversation_id)["explanation"]

    # A follow-up that would match a lead rule stays with its owner: routed conversations are not rerouted.
    _marketing(database, seeded)
    assert put_rules(client, seeded.admin_token, USERS_RULES).status_code == 200
    ingest(
        seeded.fb_channel,
        pipeline.label("Og så vil vi gerne have et tilbud på en firmaaftale", intent="sales_lead"),
        author_id="a",
        in_reply_to="root-a",
    )
    run_jobs()
    view = workflow(client, seeded.admin_token, conversation_id)
    assert view["assignee"]["id"] == seeded.agent.id
    assert view["team"]["id"] == seeded.service_team.id
    assert "Follow-up" in view["explanation"]
    assert "kept with current assignee" in view["explanation"]


def test_a_customers_new_conversation_goes_to_the_agent_who_answered_them_last(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    ingest: IngestFn,
    run_jobs: RunJobs,
) -> None:
    with database.session() as session:
        org = session.get_one(Organization, seeded.org.id)
        second = do_create_user(
            session, organization=org, email="bo@nordicrail.example", role="agent", name="Bo"
        )
        do_add_team_member(session, team=session.get_one(Team, seeded.service_team.id), user=second)
        second_id = second.id
    set_online(client, seeded.admin_token, seeded.agent.id)
    set_online(client, seeded.admin_token, second_id)
    first = conversation_of(database, ingest(seeded.fb_channel, "Mit kort virker ikke", author_id="a"))
    run_jobs()
    assert workflow(client, seeded.admin_token, first)["assignee"]["id"] == seeded.agent.id
    with database.session() as session:  # the agent answered the customer (an hour ago)
        session.get_one(Conversation, first).last_outbound_at = utcnow() - timedelta(hours=1)

    # Round robin would give the next conversation to Bo; the customer's goes back to their agent.
    second_conversation = conversation_of(
        database, ingest(seeded.fb_channel, "Og en ting til", author_id="a")
    )
    run_jobs()
    view = workflow(client, seeded.admin_token, second_conversation)
    assert second_conversation != first
    assert view["assignee"]["id"] == seeded.agent.id
    assert "sticky" in view["explanation"]
    other = conversation_of(database, ingest(seeded.fb_channel, "Hej", author_id="b"))
    run_jobs()
    assert workflow(client, seeded.admin_token, other)["assignee"]["id"] == second_id


def test_a_deleted_or_offline_owner_falls_back_to_the_team_queue(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    ingest: IngestFn,
    run_jobs: RunJobs,
    pipeline: FakePipeline,
) -> None:
    set_online(client, seeded.admin_token, seeded.agent.id)
    root = ingest(seeded.fb_channel, "Mit kort virker ikke", external_id="root")
    run_jobs()
    conversation_id = conversation_of(database, root)
    assert workflow(client, seeded.admin_token, conversation_id)["assignee"]["id"] == seeded.agent.id
    with database.session() as session:
        session.get_one(User, seeded.agent.id).is_active = False  # deleted/deactivated
    ingest(seeded.fb_channel, "Hallo? Er der nogen?", in_reply_to="root")
    run_jobs()
    view = workflow(client, seeded.admin_token, conversation_id)
    assert view["assignee"] is None
    assert view["team"]["id"] == seeded.service_team.id
    assert "is deactivated" in view["explanation"]


def test_rules_that_cannot_be_evaluated_are_refused_with_the_reason(
    client: TestClient, seeded: Seeded
) -> None:
    bad = "rules:\n  - id: a\n    when: {plaform: x}\n    then: [{assign_team: press}]\n"
    response = put_rules(client, seeded.admin_token, bad)
    assert response.status_code == 422
    assert "unknown field 'plaform' (did you mean 'platform'?)" in response.json()["detail"]
    missing = put_rules(client, seeded.admin_token, "rules:\n  - id: a\n    then: [{assign_team: legal}]\n")
    assert missing.status_code == 422
    assert "team 'legal', which does not exist" in missing.json()["detail"]
    assert put_rules(client, seeded.admin_token, "rules: [").status_code == 422
    assert put_rules(client, seeded.agent_token, USERS_RULES).status_code == 403
    # Export gives back what was saved, importable again.
    assert put_rules(client, seeded.admin_token, USERS_RULES.replace("marketing", "press")).status_code == 200
    exported = client.get("/api/v1/workflow/rules.yaml", headers=auth(seeded.admin_token)).text
    assert "X goes to the press team" in exported
    assert put_rules(client, seeded.admin_token, exported).status_code == 200


def test_every_inbound_conversation_appears_in_some_queue(
    client: TestClient,
    seeded: Seeded,
    database: Database,
    ingest: IngestFn,
    run_jobs: RunJobs,
    pipeline: FakePipeline,
) -> None:
    """Random traffic on every channel (one without a team), agents online, offline and deleted,
    a rule naming an agent who is then deactivated: afterwards every conversation has a team and
    appears in that team's inbox queue."""
    rng = random.Random(6)
    with database.session() as session:
        org = session.get_one(Organization, seeded.org.id)
        extra = [
            do_create_user(
                session, organization=org, email=f"a{i}@nordicrail.example", role="agent", name=f"A{i}"
            )
            for i in range(4)
        ]
        for user in extra:
            do_add_team_member(
                session,
                team=session.get_one(Team, rng.choice([seeded.service_team.id, seeded.press_team.id])),
                user=user,
            )
        extra_ids = [user.id for user in extra]
    for user_id in extra_ids[:2]:
        set_online(client, seeded.admin_token, user_id)
    rules = f"""
rules:
  - id: named
    when: {{text: [vip]}}
    then: [{{assign_agent: {extra_ids[0]}}}]
  - id: market
    when: {{brand: market}}
    then: [{{assign_team: {seeded.press_team.id}}}]
"""
    assert put_rules(client, seeded.admin_token, rules).status_code == 200
    with database.session() as session:
        session.get_one(User, extra_ids[0]).is_active = False
    channels = [seeded.x_channel, seeded.fb_channel, seeded.api_channel, seeded.market_channel]
    for n in range(40):
        channel = rng.choice(channels)
        text = rng.choice(["hej", "vip kunde her", "tog forsinket", "tak!"])
        ingest(channel, f"{text} {n}", author_id=f"c{rng.randint(1, 12)}", kind=rng.choice(["comment", "dm"]))
    run_jobs()
    with database.reader() as session:
        rows = session.execute(select(Conversation.id, Conversation.team_id)).all()
    assert rows
    assert all(team_id is not None for _, team_id in rows)
    for team_id in {team_id for _, team_id in rows}:
        page = json_of(
            client.get(
                f"/api/v1/conversations?view=all&team_id={team_id}&limit=200",
                headers=auth(seeded.admin_token),
            )
        )
        expected = {cid for cid, tid in rows if tid == team_id}
        assert {item["id"] for item in page["items"]} == expected
