"""A small, fast user-agent parser for the features the model uses.

Not a full UA database: it recognises the browsers, operating systems, our own
mobile app and the HTTP libraries that credential-stuffing tools use. Results
are cached, so serving pays the regex cost once per distinct user agent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class UserAgent:
    """What the model needs of a user agent."""

    family: str  # chrome, safari, firefox, edge, app, script, headless, other
    major: int | None
    os: str  # windows, macos, ios, android, linux, other
    device_class: str  # desktop, mobile, app, bot
    is_automation: bool


_SCRIPTS = re.compile(
    r"^(python-requests|python-urllib|curl|wget|go-http-client|okhttp|java|libwww-perl|"
    r"axios|node-fetch|httpclient|apache-httpclient|scrapy)[/ ]?(\d+)?",
    re.I,
)
_APP = re.compile(r"^PayApp/(\d+)[\d.]*\s*\((iOS|Android)", re.I)
_BROWSERS = (
    ("headless", re.compile(r"HeadlessChrome/(\d+)")),
    ("edge", re.compile(r"Edg(?:e|A|iOS)?/(\d+)")),
    ("firefox", re.compile(r"(?:Firefox|FxiOS)/(\d+)")),
    ("chrome", re.compile(r"(?:Chrome|CriOS)/(\d+)")),
    ("safari", re.compile(r"Version/(\d+).*Safari/")),
)
_OS = (
    ("ios", re.compile(r"iPhone|iPad|iOS", re.I)),
    ("android", re.compile(r"Android", re.I)),
    ("windows", re.compile(r"Windows", re.I)),
    ("macos", re.compile(r"Mac OS X|Macintosh", re.I)),
    ("linux", re.compile(r"Linux|X11", re.I)),
)
_BOT_WORDS = re.compile(r"bot|crawler|spider|selenium|phantomjs|puppeteer|playwright", re.I)


@lru_cache(maxsize=65536)
def parse_user_agent(ua: str | None) -> UserAgent:
    """Parse a raw user-agent string; unknown or empty strings parse as `other`."""
    if not ua:
        return UserAgent("other", None, "other", "bot", True)
    m = _SCRIPTS.match(ua)
    if m:
        return UserAgent("script", int(m.group(2)) if m.group(2) else None, "other", "bot", True)
    m = _APP.match(ua)
    if m:
        return UserAgent("app", int(m.group(1)), m.group(2).lower(), "app", False)
    os_name = next((name for name, rx in _OS if rx.search(ua)), "other")
    for family, rx in _BROWSERS:
        m = rx.search(ua)
        if m:
            mobile = "Mobile" in ua or os_name in ("ios", "android")
            bot = family == "headless" or bool(_BOT_WORDS.search(ua))
            return UserAgent(
                family, int(m.group(1)), os_name, "bot" if bot else ("mobile" if mobile else "desktop"), bot
            )
    bot = bool(_BOT_WORDS.search(ua))
    return UserAgent("other", None, os_name, "bot" if bot else "desktop", bot)
