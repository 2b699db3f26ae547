"""All SQLModel tables of DevMatrix, importable from one place (Alembic reads this metadata)."""

from devmatrix.storage.models.accounting import (
    AuditLog,
    LLMCacheEntry,
    Quota,
    SecurityEvent,
    UsageRecord,
)
from devmatrix.storage.models.base import table_of, utcnow
from devmatrix.storage.models.conversation import Conversation, ConversationShare, Message
from devmatrix.storage.models.events import EventRecord
from devmatrix.storage.models.execution import (
    AcceptanceTest,
    AcceptanceTestResult,
    Atom,
    AtomAttempt,
    AtomDependency,
    DependencyGraph,
    ExecutionRun,
    ExecutionWave,
    ReviewItem,
    ValidationResult,
)
from devmatrix.storage.models.identity import (
    ApiToken,
    AuthSession,
    RefreshToken,
    Role,
    Team,
    User,
)
from devmatrix.storage.models.planning import (
    DiscoveryDocument,
    MasterPlan,
    MasterPlanHistory,
    MasterPlanMilestone,
    MasterPlanPhase,
    MasterPlanTask,
    MasterPlanVersion,
    Requirement,
)

__all__ = [
    "AcceptanceTest",
    "AcceptanceTestResult",
    "ApiToken",
    "Atom",
    "AtomAttempt",
    "AtomDependency",
    "AuditLog",
    "AuthSession",
    "Conversation",
    "ConversationShare",
    "DependencyGraph",
    "DiscoveryDocument",
    "EventRecord",
    "ExecutionRun",
    "ExecutionWave",
    "LLMCacheEntry",
    "MasterPlan",
    "MasterPlanHistory",
    "MasterPlanMilestone",
    "MasterPlanPhase",
    "MasterPlanTask",
    "MasterPlanVersion",
    "Message",
    "Quota",
    "RefreshToken",
    "Requirement",
    "ReviewItem",
    "Role",
    "SecurityEvent",
    "Team",
    "UsageRecord",
    "User",
    "ValidationResult",
    "table_of",
    "utcnow",
]
