-- Organizations from two kinds of evidence: company names on contact and invoice records, and
-- work email domains (never freemail, never a shared-mailbox-only domain). A company name joins
-- the domain most of its people write from; otherwise it stands alone.
-- Output: one row per domain and one per company key, each with its organization_id.
with records as (
    select
        {{ company_key('company') }} as company_key,
        company,
        nullif(split_part(email, '@', 2), '') as domain
    from {{ ref('int_person_records') }}
),

work_domains as (
    select domain, count(*) as records
    from records
    where domain is not null and domain not in {{ freemail_domains() }}
    group by domain
),

company_domain as (
    select
        company_key,
        mode(company order by company) as company_name,
        mode(domain order by domain) filter (where domain in (select domain from work_domains))
            as domain
    from records
    where company_key is not null
    group by company_key
),

domain_names as (
    select domain, mode(company order by company) as company_name
    from records
    where domain is not null and company is not null
    group by domain
),

keys as (
    select
        domain,
        null::varchar as company_key,
        domain as org_key
    from work_domains
    union all
    select
        null::varchar as domain,
        company_key,
        coalesce(domain, 'company:' || company_key) as org_key
    from company_domain
),

final as (
    select
        'org_' || left(md5(org_key), 16) as organization_id,
        org_key,
        domain,
        company_key
    from keys
)

select * from final
