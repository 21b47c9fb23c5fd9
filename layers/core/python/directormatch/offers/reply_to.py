"""The address an offer email is answered at: `offer-<request id>-<director id>@<inbound domain>`.

Written into every offer email (mail.messages) and read back from replies (offers.inbound_mail); kept
apart from the reply parser, which the functions that only send offers never run.
"""

from __future__ import annotations

import re

REPLY_LOCAL_PART = re.compile(r"^offer-([0-9A-Za-z]{26})-(d[0-9a-f]{20})$", re.IGNORECASE)


def reply_address(request_id: str, director_id: str, domain: str) -> str:
    return f"offer-{request_id}-{director_id}@{domain}"
