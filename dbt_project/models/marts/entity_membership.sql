-- Every person record of every source -> its canonical entity, with the reason.
-- matched_by: 'self' (its own entity) | 'email' (same normalized address) | 'splink'
-- (probabilistic match, score = match probability) | 'unique_name' (a name-only record joined
-- the one entity with that name, score = match probability) | 'override:must_link' (operator).
with membership as (
    select * from {{ ref('int_entity_membership') }}
),

records as (
    select source, source_id, record_kind, email, full_name
    from {{ ref('int_person_records') }}
),

joined as (
    select
        membership.source,
        membership.source_id,
        membership.entity_id,
        membership.matched_by,
        membership.score,
        membership.matched_to_source,
        membership.matched_to_source_id,
        records.record_kind,
        records.email,
        records.full_name as record_name,
        membership.previous_entity_id,
        membership.first_seen_at,
        membership.resolution_mode
    from membership
    join records using (source, source_id)
)

select * from joined
