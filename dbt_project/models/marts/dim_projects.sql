-- Projects: engagements named in notes (front matter `project`) and the engagements invoices
-- describe (one per organization and product).
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
        null::decimal(18, 2) as invoiced_amount
    from {{ ref('stg_notes__notes') }}
    where project is not null
    group by 1
),

invoice_projects as (
    select
        coalesce(i.organization_id, i.customer_entity_id) || '|' || i.product_id as project_key,
        coalesce(o.name, i.customer_name) || ' — ' || mode(i.description) as name,
        any_value(i.organization_id) as organization_id,
        i.product_id,
        'invoice' as origin,
        min(i.issued_at) as started_at,
        max(i.issued_at) as last_activity_at,
        0 as note_count,
        count(*) as invoice_count,
        sum(i.amount) as invoiced_amount
    from {{ ref('fct_invoices') }} i
    left join {{ ref('dim_organizations') }} o using (organization_id)
    where i.description is not null
    group by i.organization_id, i.customer_entity_id, i.product_id, o.name, i.customer_name
),

projects as (
    select * from note_projects
    union all
    select * from invoice_projects
),

final as (
    select
        'prj_' || left(md5(origin || ':' || project_key), 16) as project_id,
        *
    from projects
    qualify row_number() over (partition by origin, project_key order by last_activity_at desc) = 1
)

select * from final
