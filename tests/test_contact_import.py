"""The contact import as the operator runs it: `aios ingest FILE.csv --source NAME` (canonical
headers) and another CRM's export with a mapping file beside it, then `aios sql` on
`entity_membership` shows which records are one person and why."""

from __future__ import annotations

import json

from tests.conftest import run_aios

CANONICAL = "\n".join([
    "source_id,first_name,last_name,email,phone,dob,street,city,postcode,company,title",
    ("C1,Ada,Lovelace,ada@analytical.example,,19761210,12 St James Sq.,London,SW1Y 4JH,"
     "Analytical Engines,Founder"),
    ("C2,Grace,Hopper,grace@navy.example,,19061209,1 Navy Way,Arlington,22202,US Navy,"
     "Rear Admiral"),
    "",
])

HUBSPOT = """Record ID,First Name,Last Name,Email,Street Address,City
901,Ada,Lovelace,Ada@Analytical.example,12 St. James Square,London
902,Charles,Babbage,charles@engines.example,1 Dorset Street,London
"""

MAPPING = """kind: contacts
source: hubspot
columns:
  source_id: Record ID
  first_name: First Name
  last_name: Last Name
  email: Email
  street: Street Address
  city: City
"""


def _sql(home, query: str) -> list[dict]:
    res = run_aios("sql", query, "-f", "json", home=home)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_canonical_csv_and_a_mapped_export_resolve_to_one_person(tmp_path, aios_home):
    (tmp_path / "contacts.csv").write_text(CANONICAL)
    (tmp_path / "hubspot.csv").write_text(HUBSPOT)
    (tmp_path / "hubspot.mapping.yaml").write_text(MAPPING)

    res = run_aios("ingest", str(tmp_path / "contacts.csv"), "--source", "crm", "--json",
                   home=aios_home, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    assert json.loads(res.stdout)["events_new"] == 2
    res = run_aios("ingest", str(tmp_path / "hubspot.csv"), "--json", home=aios_home,
                   timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    assert json.loads(res.stdout)["events_new"] == 2

    rows = _sql(aios_home, "select source, source_id, entity_id, matched_by "
                           "from entity_membership where record_kind = 'contact' order by 1, 2")
    by_key = {(r["source"], r["source_id"]): r for r in rows}
    assert set(by_key) == {("crm", "C1"), ("crm", "C2"), ("hubspot", "901"), ("hubspot", "902")}
    # the same address (case aside) in two CRMs: one person, and it says why
    assert by_key["crm", "C1"]["entity_id"] == by_key["hubspot", "901"]["entity_id"]
    assert {by_key["crm", "C1"]["matched_by"], by_key["hubspot", "901"]["matched_by"]} == {
        "email"}
    assert len({r["entity_id"] for r in rows}) == 3

    # a compact date of birth is a date; the mapped street reached the resolver; the
    # canonical columns reached the mart
    assert _sql(aios_home, "select dob from int_person_records "
                           "where source = 'crm' and source_id = 'C1'") == [{"dob": "1976-12-10"}]
    assert _sql(aios_home, "select street from int_person_records "
                           "where source = 'hubspot' and source_id = '901'") == [
        {"street": "12 St. James Square"}]
    ada = _sql(aios_home, "select c.full_name, c.sources, c.record_count from dim_contacts c "
                          "join entity_membership m using (entity_id) "
                          "where m.source = 'crm' and m.source_id = 'C1'")
    assert ada == [{"full_name": "Ada Lovelace", "sources": ["crm", "hubspot"],
                    "record_count": 2}]
