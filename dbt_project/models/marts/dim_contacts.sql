-- One row per canonical person. Attributes come from the entity's records, preferring contact
-- rows (CRM, then newsletter), then invoices, then what mail, calendar and chat headers say;
-- within a kind the most recently seen value wins; on a tie (one import, one timestamp) the
-- first record by (source, source_id), so a rebuild never flips a value in the SCD2 history.
with members as (
    select
        m.entity_id,
        r.*,
        case r.record_kind
            when 'contact' then 1 when 'subscriber' then 2 when 'invoice_customer' then 3
            else 4
        end as kind_rank
    from {{ ref('entity_membership') }} m
    join {{ ref('int_person_records') }} r using (source, source_id)
),

with_domain as (
    select
        *,
        nullif(split_part(email, '@', 2), '') as email_domain
    from members
),

contacts as (
    select
        entity_id,
        {{ preferred('full_name') }} as full_name,
        {{ preferred('first_name') }} as first_name,
        {{ preferred('last_name') }} as last_name,
        {{ preferred('email') }} as primary_email,
        list(distinct email order by email) filter (where email is not null) as emails,
        {{ preferred('phone') }} as phone,
        {{ preferred('company') }} as company,
        {{ preferred('city') }} as city,
        -- street and postcode from one record, never pieced together from two
        {{ preferred('street', 'street is not null or postcode is not null') }} as street,
        {{ preferred('postcode', 'street is not null or postcode is not null') }} as postcode,
        {{ preferred('state') }} as state,
        {{ preferred('country') }} as country,
        {{ preferred('title') }} as title,
        {{ preferred('email_domain', 'email_domain is not null and email_domain not in '
                      ~ freemail_domains()) }} as work_domain,
        bool_or(record_kind = 'contact') as in_crm,
        bool_or(record_kind = 'subscriber') as is_subscriber,
        bool_or(record_kind = 'invoice_customer') as is_customer,
        count(*) as record_count,
        list(distinct source order by source) as sources,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at
    from with_domain
    group by entity_id
),

organizations as (
    select organization_id, domain, company_key from {{ ref('int_organization_keys') }}
),

final as (
    select
        contacts.* exclude (work_domain),
        coalesce(by_domain.organization_id, by_company.organization_id) as organization_id
    from contacts
    left join organizations by_domain
      on by_domain.domain = contacts.work_domain and by_domain.company_key is null
    left join organizations by_company
      on by_company.company_key = {{ company_key('contacts.company') }}
     and by_company.domain is null
)

select * from final
