"""Plan editing over HTTP (edit, add, reorder, drop, approve) and atomization of uploaded files."""

from __future__ import annotations

from pathlib import Path

from tests.devmatrix_server.conftest import ApiFactory

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "execution"


def test_edit_add_reorder_drop_then_approve(make_sqlite_api: ApiFactory) -> None:
    api = make_sqlite_api(llm_provider="scripted", scripted_answers=FIXTURES / "calc_answers.json")
    api.register("ada")
    h = api.headers("ada")
    c = api.client
    spec = (FIXTURES / "calc_spec.md").read_text(encoding="utf-8")
    plan = c.post("/api/v1/plans", json={"spec": spec}, headers=h).json()
    pid = plan["id"]
    assert c.post(f"/api/v1/plans/{pid}/approve", headers=h).json()["status"] == "approved"

    edited = c.patch(f"/api/v1/plans/{pid}/tasks/T1", json={"title": "add ints"}, headers=h)
    assert edited.status_code == 200, edited.text
    assert edited.json()["approved_version"] != edited.json()["version"]  # needs approval again
    tasks = c.get(f"/api/v1/plans/{pid}/tasks", headers=h).json()["items"]
    assert tasks[0]["title"] == "add ints"
    not_runnable = c.post(f"/api/v1/plans/{pid}/execution/start", headers=h)
    assert not_runnable.status_code >= 400
    assert "approve" in not_runnable.json()["detail"]

    added = c.post(
        f"/api/v1/plans/{pid}/tasks",
        json={"title": "docs", "target_files": ["calc/docs.py"], "after": "T2"},
        headers=h,
    )
    assert added.status_code == 201, added.text
    codes = [t["code"] for t in c.get(f"/api/v1/plans/{pid}/tasks", headers=h).json()["items"]]
    assert "T3" in codes
    both = c.post(
        f"/api/v1/plans/{pid}/tasks",
        json={"title": "x", "target_files": ["x.py"]},
        headers=h,
    )
    assert both.status_code == 400  # neither `after` nor `milestone`: where would it go?

    version = c.get(f"/api/v1/plans/{pid}", headers=h).json()["plan"]
    milestone = next(
        m
        for p in version["phases"]
        for m in p["milestones"]
        if any(t["code"] == "T3" for t in m["tasks"])
    )
    order = [t["code"] for t in milestone["tasks"]][::-1]
    reordered = c.put(f"/api/v1/plans/{pid}/tasks/order", json={"order": order}, headers=h)
    assert reordered.status_code == 200, reordered.text
    dropped = c.delete(f"/api/v1/plans/{pid}/tasks/T3", headers=h)
    assert dropped.status_code == 200, dropped.text
    missing = c.delete(f"/api/v1/plans/{pid}/tasks/T9", headers=h)
    assert missing.status_code in (400, 404)

    approved = c.post(f"/api/v1/plans/{pid}/approve", headers=h).json()
    assert approved["approved_version"] == approved["version"]
    actions = [
        x["action"] for x in c.get(f"/api/v1/plans/{pid}/history", headers=h).json()["items"]
    ]
    assert actions[-5:] == ["edit", "add", "reorder", "drop", "approve"]
    versions = c.get(f"/api/v1/plans/{pid}/versions?limit=2", headers=h).json()
    assert len(versions["items"]) == 2
    assert versions["next_cursor"]
    assert c.get(f"/api/v1/plans/{pid}/versions/999", headers=h).status_code == 404


def test_atomize_uploaded_files(make_sqlite_api: ApiFactory) -> None:
    api = make_sqlite_api()
    api.register("ada")
    h = api.headers("ada")
    files = {
        "calc/ops.py": "def add(a, b):\n    return a + b\n",
        "calc/mul.py": "from calc.ops import add\n\n\ndef mul(a, b):\n    return add(a, b) * 0 + a * b\n",
    }
    answer = api.client.post("/api/v1/atomize", json={"files": files}, headers=h)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    ids = {a["id"] for a in body["atoms"]}
    assert {"calc/ops.py::add", "calc/mul.py::mul"} <= ids
    assert {"source": "calc/mul.py::mul", "target": "calc/ops.py::add"} in body["edges"]
    wave_of = {atom: n for n, wave in enumerate(body["waves"]) for atom in wave}
    assert wave_of["calc/ops.py::add"] < wave_of["calc/mul.py::mul"]
    for bad in ("../escape.py", "/etc/passwd", "a/../../b.py", "a\\b.py", ""):
        refused = api.client.post("/api/v1/atomize", json={"files": {bad: "x = 1\n"}}, headers=h)
        assert refused.status_code == 422, bad
