"""Discovery: a plain-language spec becomes numbered requirements, entities and constraints.

The spec is checked before any model call (empty, too short, binary or wordless text is refused),
the answer is structured output validated against `DiscoverySpec`, and the document is saved
with its requirements in one transaction.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, select

from devmatrix.errors import NotFoundError
from devmatrix.planning.errors import InvalidSpec
from devmatrix.planning.schemas import DiscoverySpec
from devmatrix.planning.structured import DEFAULT_MAX_RETRIES, CompletionClient, ask_structured
from devmatrix.storage.db import session_scope
from devmatrix.storage.models import DiscoveryDocument, Requirement

MIN_SPEC_WORDS = 3
MIN_SPEC_LETTERS = 12
MAX_SPEC_CHARS = 200_000
SPEC_HINT = 'Describe what to build in a sentence or more, e.g. "A REST API for a todo list".'

DISCOVERY_SYSTEM = (
    "You are the discovery step of a code generator. Read the user's spec and answer with one "
    "JSON object matching the given schema: a short title; requirements numbered REQ-1, REQ-2, ... "
    "in order, each a single testable statement with at least one acceptance criterion; the "
    "domain entities; and the constraints (language, frameworks, packages, limits). Do not invent "
    "features the spec does not ask for."
)


def read_spec(path: Path) -> str:
    """The text of a spec file, refused when missing, binary or not UTF-8."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InvalidSpec(f"The spec file {path} does not exist.", SPEC_HINT) from None
    except IsADirectoryError:
        raise InvalidSpec(f"The spec {path} is a folder, not a file.", SPEC_HINT) from None
    if b"\x00" in raw[:8192]:
        raise InvalidSpec(f"The spec file {path} is binary, not text.", SPEC_HINT)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidSpec(f"The spec file {path} is not UTF-8 text.", SPEC_HINT) from None
    return check_spec(text)


def check_spec(text: str) -> str:
    """The stripped spec, or `InvalidSpec` when it cannot describe software (no model call made)."""
    stripped = text.strip()
    if not stripped:
        raise InvalidSpec("The spec is empty.", SPEC_HINT)
    if "\x00" in stripped or sum(not c.isprintable() and not c.isspace() for c in stripped) > 2:
        raise InvalidSpec("The spec contains binary or control characters, not text.", SPEC_HINT)
    if len(stripped) > MAX_SPEC_CHARS:
        raise InvalidSpec(
            f"The spec is {len(stripped)} characters; the limit is {MAX_SPEC_CHARS}.",
            "Split it into smaller specs.",
        )
    letters = sum(c.isalpha() for c in stripped)
    if letters == 0:
        raise InvalidSpec("The spec contains no words (no letters at all).", SPEC_HINT)
    words = [w for w in stripped.split() if any(c.isalpha() for c in w)]
    # Scripts written without spaces (Chinese, Japanese) have one "word" per sentence.
    if letters < MIN_SPEC_LETTERS or (len(words) < MIN_SPEC_WORDS and stripped.isascii()):
        raise InvalidSpec(f"The spec is too short to plan from: {stripped[:40]!r}.", SPEC_HINT)
    if letters < 0.5 * sum(not c.isspace() for c in stripped):
        raise InvalidSpec("The spec is mostly symbols and digits, not a description.", SPEC_HINT)
    return stripped


def discovery_problems(discovery: DiscoverySpec) -> list[str]:
    """Checks beyond the schema: requirement codes are REQ-1..REQ-n, each once, in order."""
    codes = [r.code for r in discovery.requirements]
    expected = [f"REQ-{i}" for i in range(1, len(codes) + 1)]
    if codes != expected:
        return [
            f"requirements must be numbered {', '.join(expected)} in order; got {', '.join(codes)}"
        ]
    return []


async def generate_discovery(
    client: CompletionClient,
    spec_text: str,
    *,
    max_retries: int = DEFAULT_MAX_RETRIES,
    user_id: int | None = None,
) -> DiscoverySpec:
    """Ask the model to read the spec; the spec is checked first, so bad input costs no call."""
    spec = check_spec(spec_text)
    return await ask_structured(
        client,
        DiscoverySpec,
        prompt=f"Spec:\n\n{spec}",
        system=DISCOVERY_SYSTEM,
        purpose="discovery",
        check=discovery_problems,
        max_retries=max_retries,
        user_id=user_id,
    )


def save_discovery(
    session: Session,
    spec_text: str,
    discovery: DiscoverySpec,
    *,
    owner_id: int | None = None,
    team_id: int | None = None,
) -> DiscoveryDocument:
    """Add the document and its requirements to the session (the caller's transaction)."""
    document = DiscoveryDocument(
        title=discovery.title,
        spec=spec_text.strip(),
        entities=list(discovery.entities),
        constraints=list(discovery.constraints),
        owner_id=owner_id,
        team_id=team_id,
    )
    session.add(document)
    session.flush()
    assert document.id is not None
    for requirement in discovery.requirements:
        session.add(
            Requirement(
                discovery_id=document.id,
                code=requirement.code,
                text=requirement.text,
                acceptance_criteria=list(requirement.acceptance_criteria),
            )
        )
    session.flush()
    return document


async def discover(
    client: CompletionClient,
    engine: Engine,
    spec_text: str,
    *,
    owner_id: int | None = None,
    team_id: int | None = None,
    max_retries: int = DEFAULT_MAX_RETRIES,
) -> tuple[int, DiscoverySpec]:
    """Spec -> validated discovery, saved in one transaction; returns (document id, discovery)."""
    discovery = await generate_discovery(
        client, spec_text, max_retries=max_retries, user_id=owner_id
    )
    with session_scope(engine) as session:
        document = save_discovery(session, spec_text, discovery, owner_id=owner_id, team_id=team_id)
        assert document.id is not None
        return document.id, discovery


def load_discovery(session: Session, discovery_id: int) -> DiscoverySpec:
    """A saved discovery document as a `DiscoverySpec`."""
    document = session.get(DiscoveryDocument, discovery_id)
    if document is None:
        raise NotFoundError(f"There is no discovery document {discovery_id}.")
    rows = session.exec(select(Requirement).where(Requirement.discovery_id == discovery_id)).all()
    ordered = sorted(rows, key=lambda r: int(r.code.removeprefix("REQ-")))
    return DiscoverySpec.model_validate(
        {
            "title": document.title or "Untitled",
            "requirements": [
                {"code": r.code, "text": r.text, "acceptance_criteria": r.acceptance_criteria}
                for r in ordered
            ],
            "entities": document.entities,
            "constraints": document.constraints,
        }
    )
