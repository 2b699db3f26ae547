"""Atom plan: each task becomes atoms (one top-level symbol each), asked of the model per task.

Tasks are planned in dependency order so a task sees the atoms of the tasks before it. Each
answer is checked: atoms live in the task's target files, no symbol is defined twice, every used
symbol resolves (another atom, the workspace, the standard library, a declared dependency), a
method's class exists. Problems go back to the model (bounded), then a `PlanningError` names the
atom and the symbol.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from devmatrix.planning.errors import PlanningError
from devmatrix.planning.masterplan import unsafe_path_reason
from devmatrix.planning.schemas import AtomPlanSpec, AtomSpec, PlanSpec, TaskSpec
from devmatrix.planning.structured import DEFAULT_MAX_RETRIES, CompletionClient, ask_structured
from devmatrix.planning.symbols import SymbolTable, atom_key

ATOMS_SYSTEM = (
    "You are the atomization step of a code generator. Split one task into atoms: each atom is "
    "ONE top-level symbol of about ten lines of body -- a function, a method (qualified name "
    "Class.method), a class shell (its methods are separate atoms), a constants block, or a test "
    "function. For each give the file (one of the task's target files), qualified name, kind, "
    "the planned signature, its intent, the symbols it uses (local names, or qualified like "
    "pkg.mod.func; standard library and declared packages allowed) and the requirement codes it "
    "serves. Never redefine a symbol another atom already defines: use it. Answer with one JSON "
    "object matching the schema."
)
WORKSPACE_SYMBOLS_SHOWN = 200


@dataclass(frozen=True)
class PlannedAtom:
    """An atom of the plan with the task it belongs to and its resolved dependencies."""

    key: str
    task: str
    spec: AtomSpec
    depends_on: tuple[tuple[str, str], ...]  # (atom key it uses, symbol as written)


def task_order(plan: PlanSpec) -> list[TaskSpec]:
    """Tasks with every task after the tasks it depends on, otherwise in plan order."""
    pending = plan.tasks()
    done: set[str] = set()
    ordered: list[TaskSpec] = []
    while pending:
        ready = next((t for t in pending if set(t.depends_on) <= done), pending[0])
        pending.remove(ready)
        ordered.append(ready)
        done.add(ready.code)
    return ordered


def atom_problems(answer: AtomPlanSpec, task: TaskSpec, table: SymbolTable) -> list[str]:
    """Everything wrong with one task's atoms, given the symbols planned before it."""
    problems: list[str] = []
    if answer.task != task.code:
        problems.append(f"`task` must be {task.code}, not {answer.task}")
    local = table.copy()
    for atom in answer.atoms:
        problems.extend(_shape_problems(atom, task))
        where = atom_key(atom.file, atom.qualified_name)
        if local.defines(atom.file, atom.qualified_name):
            problems.append(
                f"atom {where} defines a symbol that is already defined; define each symbol "
                "once and let other atoms use it"
            )
        local.add(atom.file, atom.qualified_name)
    for atom in answer.atoms:
        where = atom_key(atom.file, atom.qualified_name)
        owner = atom.qualified_name.rpartition(".")[0]
        if atom.kind == "method" and owner and not local.has_class(atom.file, owner):
            problems.append(f"method atom {where} needs a class atom {owner} in {atom.file}")
        for use in atom.uses:
            found = local.resolve(use, atom.file, atom.qualified_name)
            if found.problem:
                problems.append(
                    f"atom {where} uses unknown symbol {use!r}: it {found.problem}; define it "
                    "in an atom, fix the name, or declare the package"
                )
    return problems


def _shape_problems(atom: AtomSpec, task: TaskSpec) -> list[str]:
    where = atom_key(atom.file, atom.qualified_name)
    problems: list[str] = []
    if atom.file not in task.target_files:
        problems.append(
            f"atom {where} is in {atom.file}, which is not a target file of task {task.code} "
            f"({', '.join(task.target_files)})"
        )
    reason = unsafe_path_reason(atom.file)
    if reason:
        problems.append(f"atom {where}: file {reason}")
    dotted = "." in atom.qualified_name
    if (atom.kind == "method") != dotted:
        problems.append(
            f"atom {where}: a method is named Class.method and only a method has a dotted name"
        )
    unknown = [r for r in atom.requirements if r not in task.requirements]
    if unknown:
        problems.append(
            f"atom {where} serves {', '.join(unknown)}, which task {task.code} does not list"
        )
    return problems


def atoms_prompt(
    task: TaskSpec,
    plan: PlanSpec,
    table: SymbolTable,
    earlier: Sequence[tuple[TaskSpec, AtomPlanSpec]] = (),
) -> str:
    """The user message for one task: the task, declared packages, and the symbols known so far."""
    planned = [
        f"- {atom_key(a.file, a.qualified_name)}: {a.signature}"
        for _, answer in earlier
        for a in answer.atoms
    ]
    shown = sorted(table.workspace)[:WORKSPACE_SYMBOLS_SHOWN]
    return "\n".join(
        [
            f"Plan: {plan.title}",
            "Task:",
            task.model_dump_json(indent=2),
            f"Declared third-party packages: {', '.join(plan.dependencies) or '(none)'}",
            "Atoms already planned by earlier tasks (use them, do not redefine them):",
            *(planned or ["(none)"]),
            "Symbols already in the workspace:",
            *([f"- {name}" for name in shown] or ["(none)"]),
        ]
    )


async def generate_atoms(
    client: CompletionClient,
    plan: PlanSpec,
    *,
    plan_id: int | None = None,
    workspace_symbols: Iterable[str] = (),
    dependencies: Iterable[str] = (),
    max_retries: int = DEFAULT_MAX_RETRIES,
    user_id: int | None = None,
) -> list[PlannedAtom]:
    """Ask the model for each task's atoms (purpose `atoms:<code>`), check and resolve them."""
    table = SymbolTable(workspace_symbols, [*plan.dependencies, *dependencies])
    answers: list[tuple[TaskSpec, AtomPlanSpec]] = []
    for task in task_order(plan):

        def check(answer: AtomPlanSpec, task: TaskSpec = task) -> list[str]:
            return atom_problems(answer, task, table)

        answer = await ask_structured(
            client,
            AtomPlanSpec,
            prompt=atoms_prompt(task, plan, table, answers),
            system=ATOMS_SYSTEM,
            purpose=f"atoms:{task.code}",
            check=check,
            max_retries=max_retries,
            plan_id=plan_id,
            user_id=user_id,
        )
        for atom in answer.atoms:
            table.add(atom.file, atom.qualified_name)
        answers.append((task, answer))
    return resolve_atoms(answers, table)


def resolve_atoms(
    answers: list[tuple[TaskSpec, AtomPlanSpec]], table: SymbolTable
) -> list[PlannedAtom]:
    """The planned atoms with the atom keys each depends on; unresolved uses raise."""
    planned: list[PlannedAtom] = []
    problems: list[str] = []
    for task, answer in answers:
        for atom in answer.atoms:
            key = atom_key(atom.file, atom.qualified_name)
            edges: dict[str, str] = {}
            owner = atom.qualified_name.rpartition(".")[0]
            # A method is placed inside its class shell, so the shell comes first.
            uses = [owner] if atom.kind == "method" and owner else []
            for use in [*uses, *atom.uses]:
                found = table.resolve(use, atom.file, atom.qualified_name)
                if found.problem:
                    problems.append(f"atom {key} uses unknown symbol {use!r}: it {found.problem}")
                elif found.atom and found.atom != key:
                    edges.setdefault(found.atom, use)
            planned.append(PlannedAtom(key, task.code, atom, tuple(edges.items())))
    if problems:
        raise PlanningError("The atom plan uses symbols nothing defines.", problems=problems)
    return planned
