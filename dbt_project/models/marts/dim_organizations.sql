-- One row per organization (company names and work email domains, see int_organization_keys).
with keys as (
    select * from {{ ref('int_organization_keys') }}
),

names as (
    select
        {{ company_key('company') }} as company_key,
        nullif(split_part(email, '@', 2), '') as domain,
        company
    from {{ ref('int_person_records') }}
    where company is not null
),

org_names as (
    select
        keys.organization_id,
        mode(names.company order by names.company) as company_name
    from keys
    join names
      on (keys.company_key is not null and names.company_key = keys.company_key)
      or (keys.domain is not null and names.domain = keys.domain)
    group by keys.organization_id
),

orgs as (
    select
        organization_id,
        any_value(org_key) as org_key,
        max(domain) as domain,
        list(distinct company_key order by company_key)
            filter (where company_key is not null) as company_keys
    from keys
    group by organization_id
),

contacts as (
    select organization_id, count(*) as contact_count,
           min(first_seen_at) as first_seen_at, max(last_seen_at) as last_seen_at
    from {{ ref('dim_contacts') }}
    where organization_id is not null
    group by organization_id
),

final as (
    select
        orgs.organization_id,
        coalesce(org_names.company_name, orgs.domain, orgs.org_key) as name,
        orgs.domain,
        orgs.company_keys,
        coalesce(contacts.contact_count, 0) as contact_count,
        contacts.first_seen_at,
        contacts.last_seen_at
    from orgs
    left join org_names using (organization_id)
    left join contacts using (organization_id)
)

select * from final
