"""Helpers for the workflow tests: a stand-in for the understanding pipeline that gives each message
the labels a test chose (so routing tests do not depend on the models' exact verdicts), and small API
shortcuts. The real path is kept: ingest → ``pipeline.analyze`` job → ``do_store_analysis`` → routing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tilsvar.db import Database
from tilsvar.models import Message
from tilsvar.pipeline import TextItem

from helpers import auth, json_of

Labels = dict[str, Any]
DEFAULT: Labels = {"intent": "question", "sentiment": "neutral", "language": "da", "priority": "normal"}


class FakePipeline:
    """Labels per message text; anything not registered is a neutral Danish question."""

    def __init__(self) -> None:
        self.labels: dict[str, Labels] = {}

    def label(self, text: str, **labels: Any) -> str:
        self.labels[text] = {**DEFAULT, **labels}
        return text

    def analyze(self, items: list[TextItem]) -> None:
        for item in items:
            labels = self.labels.get(item.text, DEFAULT)
            item.analysis = {
                "language": labels["language"],
                "intent": labels["intent"],
                "sentiment": {
                    "label": labels["sentiment"],
                    "score": -0.8 if labels["sentiment"] == "negative" else 0.0,
                },
                "priority": labels["priority"],
                "pii": [],
                "moderation": {"action": "allow", "labels": []},
            }


@pytest.fixture
def pipeline(monkeypatch: pytest.MonkeyPatch) -> FakePipeline:
    fake = FakePipeline()
    monkeypatch.setattr("tilsvar.jobs.handlers.analyze", fake.analyze)
    return fake


def workflow(client: TestClient, token: str, conversation_id: int) -> dict[str, Any]:
    response = client.get(f"/api/v1/conversations/{conversation_id}/workflow", headers=auth(token))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = json_of(response)
    return result


def conversation_of(database: Database, message_id: int) -> int:
    with database.reader() as session:
        found = session.scalar(select(Message.conversation_id).where(Message.id == message_id))
    assert found is not None
    return int(found)


def put_rules(client: TestClient, token: str, yaml_text: str) -> Any:
    return client.put("/api/v1/workflow/rules", json={"yaml": yaml_text}, headers=auth(token))


def set_online(client: TestClient, token: str, user_id: int, online: bool = True, **more: Any) -> None:
    response = client.put(
        f"/api/v1/agents/{user_id}/profile", json={"online": online, **more}, headers=auth(token)
    )
    assert response.status_code == 200, response.text


RunJobs = Callable[[], int]
