-- Singular test: every person record resolves to exactly one canonical entity.
select r.source, r.source_id, count(m.entity_id) as entities
from {{ ref('int_person_records') }} r
left join {{ ref('entity_membership') }} m using (source, source_id)
group by all
having count(m.entity_id) <> 1
