"""Trigger emails (builds.sr.ht's ``email`` action, issue 17): one message sent through the SMTP
server the operator configures, its outcome recorded as a webhook attempt's (an SMTP ``250`` is a
2xx: delivered; a refusal or no answer is retried with the same backoff)."""

import time
from email import message_from_bytes
from email.message import Message

import aiosmtplib

from .sender import Outcome
from .settings import Settings


class Mailer:
    """Sends prepared messages (``From`` added here) through ``settings.smtp_host``."""

    def __init__(self, settings: Settings) -> None:
        self._s = settings

    async def send(self, body: bytes) -> Outcome:
        started = time.perf_counter()
        if not self._s.smtp_host:
            return Outcome(status=None, latency_ms=0.0, error="no SMTP server is configured (CONVEYOR_SMTP_HOST)")
        message: Message = message_from_bytes(body)
        del message["From"]
        message["From"] = self._s.smtp_from
        try:
            _, reply = await aiosmtplib.send(
                message,
                hostname=self._s.smtp_host,
                port=self._s.smtp_port,
                username=self._s.smtp_username or None,
                password=self._s.smtp_password or None,
                start_tls=self._s.smtp_starttls,
                timeout=self._s.hook_timeout_s,
            )
        except aiosmtplib.SMTPResponseException as exc:
            return Outcome(status=exc.code, latency_ms=_ms(started), error=exc.message[:500])
        except (aiosmtplib.SMTPException, OSError) as exc:
            return Outcome(status=None, latency_ms=_ms(started), error=f"{type(exc).__name__}: {exc}"[:500])
        return Outcome(status=250, latency_ms=_ms(started), response=reply[:500])


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
