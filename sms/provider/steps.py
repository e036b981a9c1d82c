"""What a voice or SMS reply says, independent of any provider's format.

Flows (bridged calls, call-in, sign-up) build lists of these steps; the provider renders them
(TwiML for Twilio and for the simulator, which speaks Twilio's wire format).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sms.provider.voices import current_locale


@dataclass(frozen=True)
class Say:
    """Spoken text, in the locale in effect when the step was made (sms.provider.voices)."""

    text: str
    locale: str = field(default_factory=current_locale)


@dataclass(frozen=True)
class Play:
    url: str


@dataclass(frozen=True)
class Pause:
    seconds: int = 1


@dataclass(frozen=True)
class Gather:
    """Wait for keypad digits, then POST them to `action`; `prompt` plays meanwhile."""

    action: str
    num_digits: int = 1
    timeout: int = 8
    prompt: tuple[Say | Play | Pause, ...] = ()
    finish_on_key: str = ""
    speech: bool = False  # also listen for words (in the prompt's language): `SpeechResult`


@dataclass(frozen=True)
class Dial:
    """Connect the current call to `number`, showing `caller_id`; `action` gets the outcome."""

    number: str
    caller_id: str
    action: str
    timeout: int = 25
    hangup_on_star: bool = False
    number_url: str | None = None  # TwiML run on the answered side before connecting
    status_callback: str | None = None
    status_events: tuple[str, ...] = ("initiated", "ringing", "answered", "completed")
    machine_detection: str | None = None  # "Enable" or "DetectMessageEnd"
    amd_callback: str | None = None


@dataclass(frozen=True)
class Redirect:
    url: str


@dataclass(frozen=True)
class Hangup:
    pass


VoiceStep = Say | Play | Pause | Gather | Dial | Redirect | Hangup


@dataclass(frozen=True)
class CallRequest:
    """An outbound call the provider should place."""

    to: str
    from_number: str
    answer_url: str
    status_callback: str
    status_events: tuple[str, ...] = ("initiated", "ringing", "answered", "completed")
    timeout: int = 30
    machine_detection: str | None = None
    amd_callback: str | None = None
    extra: dict = field(default_factory=dict)
