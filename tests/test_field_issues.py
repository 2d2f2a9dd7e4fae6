"""Field-level validation through the operator's path: `aios ingest` of a contact export whose
rows carry one bad field each. Every person is kept (down to entity_membership), each bad field
is NULL and recorded in `field_issues` with file, line, raw value and reason."""

from __future__ import annotations

import json

from tests.conftest import run_aios

CONTACTS = "\n".join([
    "source_id,first_name,last_name,dob,street,postcode,city",
    "H1,Ada,Byron,1815-12-10,12 St James Sq,SW1Y 4JH,London",  # a real pre-1900 birth
    "H2,Walter,Pope,1937-12-33,4 Mill Lane,OX1 2AB,Oxford",  # a typo in the dob
    "H3,,,1950-02-03,7 Kings Road,CB2 1TN,Cambridge",  # no name: address and dob identify
    "H4,,,,9 Quay Street,BS1 4DJ,Bristol",  # no name, no dob: street + postcode identify
    "H5,Nora,Quill,2399-01-01,3 Elm Row,EH1 2AA,Edinburgh",  # a dob in the future
    "H6,,,not a date,,,Leeds",  # nothing identifies it: quarantined, with why
    "",
])


def _sql(home, query: str) -> list[dict]:
    res = run_aios("sql", query, "-f", "json", home=home)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_a_bad_field_never_drops_a_person(tmp_path, aios_home):
    path = tmp_path / "people.csv"
    path.write_text(CONTACTS)
    res = run_aios("ingest", str(path), "--source", "crm", "--json", home=aios_home,
                   timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    report = json.loads(res.stdout)
    assert (report["events_new"], report["rejected"], report["field_issues"]) == (5, 1, 2)

    members = _sql(aios_home, "select source_id from entity_membership "
                              "where record_kind = 'contact' order by 1")
    assert [m["source_id"] for m in members] == ["H1", "H2", "H3", "H4", "H5"]
    dobs = {r["source_id"]: r["dob"] for r in _sql(
        aios_home, "select source_id, dob from stg_crm__contacts order by 1")}
    assert dobs == {"H1": "1815-12-10", "H2": None, "H3": "1950-02-03", "H4": None, "H5": None}

    issues = _sql(aios_home, "select source_id, file, line, field, raw, reason "
                             "from field_issues order by line, field")
    assert [(i["source_id"], i["line"], i["field"], i["raw"]) for i in issues] == [
        ("H2", 3, "dob", "1937-12-33"),
        ("H5", 6, "dob", "2399-01-01"),
    ]
    assert all(i["file"] == str(path) for i in issues)
    assert "invalid date" in issues[0]["reason"] and "future" in issues[1]["reason"]
    quarantined = _sql(aios_home, "select line, reason from quarantine")
    assert [q["line"] for q in quarantined] == [7]
    assert "contact needs one of" in quarantined[0]["reason"]
    assert "not a date" in quarantined[0]["reason"]  # says what was bad in it, too
