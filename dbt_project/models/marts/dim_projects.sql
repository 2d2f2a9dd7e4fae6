-- Projects: engagements named in notes (front matter `project`) and the engagements invoices
-- describe (one per organization and product, billing periods folded: "Q3 retainer - July"
-- and "- August" are one retainer engagement), with the meetings held with that
-- organization's people while the engagement ran (from 30 days before its first invoice).
with note_projects as (
    select
        lower(trim(project)) as project_key,
        mode(project) as name,
        null::varchar as organization_id,
        null::varchar as product_id,
        'note' as origin,
        min(written_at) as started_at,
        max(written_at) as last_activity_at,
        count(*) as note_count,
        0 as invoice_count,
        null::decimal(18, 2) as invoiced_amount,
        null::decimal(18, 2) as paid_amount
    from {{ ref('stg_notes__notes') }}
    where project is not null
    group by 1
),

invoice_projects as (
    select
        coalesce(i.organization_id, i.customer_entity_id) || '|' || i.product_id as project_key,
        coalesce(o.name, i.customer_name) || ' — ' || any_value(p.name) as name,
        any_value(i.organization_id) as organization_id,
        i.product_id,
        'invoice' as origin,
        min(i.issued_at) as started_at,
        max(i.issued_at) as last_activity_at,
        0 as note_count,
        count(*) as invoice_count,
        sum(i.amount) as invoiced_amount,
        sum(i.amount - i.balance) as paid_amount
    from {{ ref('fct_invoices') }} i
    left join {{ ref('dim_organizations') }} o using (organization_id)
    left join {{ ref('dim_products') }} p using (product_id)
    where i.description is not null
    group by i.organization_id, i.customer_entity_id, i.product_id, o.name, i.customer_name
),

projects as (
    select * from note_projects
    union all
    select * from invoice_projects
),

org_meetings as (
    select distinct c.organization_id, x.source_event_id, x.occurred_at
    from {{ ref('fct_interactions') }} x
    join {{ ref('dim_contacts') }} c using (entity_id)
    where x.interaction_type = 'meeting' and c.organization_id is not null
),

with_meetings as (
    select
        p.*,
        count(m.source_event_id) as meeting_count,
        max(m.occurred_at) as last_meeting_at
    from projects p
    left join org_meetings m
      on p.origin = 'invoice' and m.organization_id = p.organization_id
     and m.occurred_at >= p.started_at - interval 30 days
    group by all
),

final as (
    select
        'prj_' || left(md5(origin || ':' || project_key), 16) as project_id,
        * exclude (last_activity_at),
        greatest(last_activity_at, last_meeting_at) as last_activity_at
    from with_meetings
    qualify row_number() over (partition by origin, project_key order by last_activity_at desc) = 1
)

select * from final
