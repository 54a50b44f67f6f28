"""Telling the citizen that an agency or the system moved their dossier.

:func:`notify_citizen` runs off the request path, from the table's stream
(services/table_events.py), once the progress-log entry is stored; it never raises. Which
entries are worth a message is ``domain/notifications.should_notify``.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from chalicelib.config import Settings, get_settings
from chalicelib.domain.dossiers import Dossier, LogEntry
from chalicelib.domain.notifications import should_notify, status_message, tracker_link
from chalicelib.integrations.notify import Notifier

logger = logging.getLogger(__name__)


@lru_cache(maxsize=4)
def _notifier(region: str, from_email: str, sms_enabled: bool) -> Notifier:
    return Notifier(region, from_email, sms_enabled)


def get_notifier(settings: Settings | None = None) -> Notifier:
    settings = settings or get_settings()
    return _notifier(settings.region, settings.notify_from_email, settings.notify_sms)


def notify_citizen(dossier: Dossier, entry: LogEntry) -> None:
    """Email and/or SMS the applicant about ``entry`` (a status change of ``dossier``).

    Does nothing when the entry changes no status or both channels are off; failures
    are logged (without the recipient) and swallowed.
    """
    if not should_notify(entry):
        return
    try:
        settings = get_settings()
        notifier = get_notifier(settings)
        if not notifier.enabled:
            return
        message = status_message(dossier, entry, track_url=tracker_link(settings.public_track_url, dossier.code))
        notifier.send(dossier.applicant.get("email") or None, dossier.applicant.get("phone") or None, message)
    except Exception as error:  # a notification must not undo a status change
        logger.warning("notification failed: %s", type(error).__name__)
