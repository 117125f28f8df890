"""Sending reports by e-mail: the weekly report as an HTML mail (with a plain-text part) and its PDF
and CSV attached, through the SMTP server of ``report_smtp_url`` (plain, STARTTLS or TLS)."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import unquote, urlsplit

from tilsvar.reports.weekly import WeeklyReport
from tilsvar.settings import Settings, get_settings


class ReportMailError(Exception):
    """The report could not be handed to the SMTP server; ``retryable`` says whether to try again."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class SmtpServer:
    host: str
    port: int
    security: str  # "plain", "starttls" or "tls"
    username: str
    password: str

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> SmtpServer:
        settings = settings or get_settings()
        if not settings.report_smtp_url:
            raise ReportMailError(
                "TILSVAR_REPORT_SMTP_URL is not set: scheduled reports cannot be sent", retryable=False
            )
        parts = urlsplit(settings.report_smtp_url)
        security = {"smtp": "plain", "smtp+starttls": "starttls", "smtps": "tls"}.get(parts.scheme)
        if security is None or not parts.hostname:
            raise ReportMailError(
                "TILSVAR_REPORT_SMTP_URL must be smtp://, smtp+starttls:// or smtps://host", retryable=False
            )
        password = ""
        if settings.report_smtp_password_file:
            password = Path(settings.report_smtp_password_file).read_text(encoding="utf-8").strip()
        default_port = {"plain": 25, "starttls": 587, "tls": 465}[security]
        return cls(
            host=parts.hostname,
            port=parts.port or default_port,
            security=security,
            username=unquote(parts.username or ""),
            password=password,
        )


def build_message(
    report: WeeklyReport, *, sender: str, recipients: Sequence[str], formats: Sequence[str]
) -> EmailMessage:
    """The mail: HTML body (and a short text part), the PDF and CSV attached when asked for."""
    message = EmailMessage()
    message["Subject"] = report.title
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "tilsvar.invalid")
    message["Auto-Submitted"] = "auto-generated"
    current = report.data["current"]
    message.set_content(
        f"{report.title}\n{report.data['period_label']}\n\n"
        f"Inquiries: {current['inquiries']}\nAnswered: {current['answered']}\n"
        f"Answer rate: {current['answer_rate'] * 100:.1f} %\n"
        f"Median first response: {current['first_response_minutes']['median']:.0f} min\n\n"
        "The full report is in the HTML part and the attachments.\n"
    )
    message.add_alternative(report.html(), subtype="html")
    stem = "tilsvar-report-" + report.data["period"]["from"][:10]
    if "pdf" in formats:
        message.add_attachment(report.pdf(), maintype="application", subtype="pdf", filename=f"{stem}.pdf")
    if "csv" in formats:
        message.add_attachment(report.csv().encode(), maintype="text", subtype="csv", filename=f"{stem}.csv")
    return message


def send(message: EmailMessage, server: SmtpServer, *, timeout: float = 30.0) -> None:
    """Hand ``message`` to the SMTP server; 4xx answers and broken connections are retryable."""
    try:
        if server.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                server.host, server.port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(server.host, server.port, timeout=timeout)
        with client:
            if server.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if server.username:
                client.login(server.username, server.password)
            client.send_message(message)
    except smtplib.SMTPAuthenticationError as error:
        raise ReportMailError(
            f"the SMTP server refused the sign-in: {error.smtp_code}", retryable=False
        ) from error
    except smtplib.SMTPResponseException as error:
        retryable = 400 <= error.smtp_code < 500
        raise ReportMailError(
            f"the SMTP server answered {error.smtp_code}: {error.smtp_error!r}", retryable=retryable
        ) from error
    except smtplib.SMTPRecipientsRefused as error:
        raise ReportMailError(
            f"the SMTP server refused the recipients: {sorted(error.recipients)}", retryable=False
        ) from error
    except (OSError, smtplib.SMTPException) as error:
        raise ReportMailError(f"could not reach the SMTP server: {error}", retryable=True) from error
