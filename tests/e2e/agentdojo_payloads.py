"""Prompt-injection payloads from the `agentdojo` wheel (installed with
--no-deps: its modules import packages the tests do not need, so the attack
template and the injection tasks' goals are read from its sources with
`ast`, never imported or copied)."""

import ast
import importlib.util
from pathlib import Path


def _package() -> Path:
    spec = importlib.util.find_spec("agentdojo")
    if spec is None or not spec.submodule_search_locations:
        raise AssertionError("the agentdojo wheel is missing; scripts/test.sh installs it (tests/requirements-nodeps.txt)")
    return Path(list(spec.submodule_search_locations)[0])


def _class(path: Path, name: str) -> ast.ClassDef:
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return node
    raise AssertionError(f"{path} has no class {name}; pin the agentdojo version in tests/requirements-nodeps.txt")


def _constants(node: ast.AST) -> dict[str, object]:
    """The plain `NAME = <literal>` assignments directly in a class or module body."""
    found = {}
    for statement in getattr(node, "body", []):
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
            try:
                found[statement.targets[0].id] = ast.literal_eval(statement.value)
            except ValueError:
                pass
    return found


def _format(value: ast.AST, names: dict[str, object]) -> str:
    """An f-string of names bound in `names`, evaluated."""
    if isinstance(value, ast.Constant):
        return str(value.value)
    assert isinstance(value, ast.JoinedStr), ast.dump(value)
    parts = []
    for part in value.values:
        if isinstance(part, ast.Constant):
            parts.append(str(part.value))
        else:
            assert isinstance(part, ast.FormattedValue) and isinstance(part.value, ast.Name), ast.dump(part)
            parts.append(str(names[part.value.id]))
    return "".join(parts)


def injection_goal(suite: str, task: str, **overrides: str) -> str:
    """The GOAL of one of AgentDojo's injection tasks, with some of its
    constants replaced (for example the attacker's address by a recorder)."""
    node = _class(_package() / "default_suites" / "v1" / suite / "injection_tasks.py", task)
    names = {**_constants(node), **overrides}
    for statement in node.body:
        if isinstance(statement, ast.Assign) and getattr(statement.targets[0], "id", None) == "GOAL":
            return _format(statement.value, names)
    raise AssertionError(f"{task} of the {suite} suite has no GOAL")


def important_instructions(goal: str) -> str:
    """AgentDojo's "important_instructions" attack carrying `goal`, signed by
    its default user and addressed to its default model name."""
    attacks = _package() / "attacks"
    template = _constants(_class(attacks / "important_instructions_attacks.py", "ImportantInstructionsAttack"))["_JB_STRING"]
    defaults = _constants(ast.parse((attacks / "base_attacks.py").read_text()))
    init = _class(attacks / "important_instructions_attacks.py", "ImportantInstructionsAttack")
    user = next(
        ast.literal_eval(s.value)
        for f in init.body
        if isinstance(f, ast.FunctionDef) and f.name == "__init__"
        for s in f.body
        if isinstance(s, ast.Assign) and ast.unparse(s.targets[0]) == "self.user_name"
    )
    return template.format(user=user, model=defaults["DEFAULT_MODEL_NAME"], goal=goal)
