-- One row per canonical entity: its size, where its records come from and why they joined.
with membership as (
    select m.*
    from {{ ref('int_entity_membership') }} m
    join {{ ref('int_person_records') }} r using (source, source_id)
),

clusters as (
    select
        entity_id,
        count(*) as records,
        count(distinct source) as sources,
        list(distinct source order by source) as source_list,
        count(*) filter (where matched_by = 'email') as matched_by_email,
        count(*) filter (where matched_by = 'splink') as matched_by_splink,
        count(*) filter (where matched_by = 'unique_name') as matched_by_unique_name,
        count(*) filter (where matched_by = 'override:must_link') as matched_by_override,
        min(score) filter (where matched_by = 'splink') as weakest_splink_score,
        min(first_seen_at) as first_seen_at
    from membership
    group by entity_id
)

select * from clusters
