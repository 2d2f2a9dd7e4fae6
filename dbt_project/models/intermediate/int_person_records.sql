-- Every record that stands for a person, from every source, in one shape: the input of entity
-- resolution. (source, source_id) is unique:
--   contact rows          -> their own (source, source_id)
--   email participants    -> (message source, normalized address), or 'name:<name>' without one
--   calendar participants -> (calendar source, normalized address), or 'name:<name>'
--   chat speakers         -> (chat source, normalized address), or 'name:<name>'
--   invoice customers     -> (billing source, invoice_id)
with contacts as (
    select source, source_id, 'contact' as record_kind, first_name, last_name, full_name,
           email, phone, dob, city, postcode, company, first_seen_at, updated_at as last_seen_at
    from {{ ref('stg_crm__contacts') }}
    union all
    select source, source_id, 'subscriber' as record_kind, first_name, last_name, full_name,
           email, phone, dob, city, postcode, company, first_seen_at, updated_at as last_seen_at
    from {{ ref('stg_newsletter__subscribers') }}
),

email_people as (
    select
        source,
        coalesce(email, 'name:' || lower(display_name)) as source_id,
        'email_participant' as record_kind,
        mode(display_name) as full_name,
        email,
        min(sent_at) as first_seen_at,
        max(sent_at) as last_seen_at
    from {{ ref('stg_email__participants') }}
    group by all
),

calendar_people as (
    select
        source,
        coalesce(email, 'name:' || lower(display_name)) as source_id,
        'calendar_participant' as record_kind,
        mode(display_name) as full_name,
        email,
        min(starts_at) as first_seen_at,
        max(starts_at) as last_seen_at
    from {{ ref('stg_calendar__attendees') }}
    group by all
),

chat_people as (
    select
        source,
        coalesce(speaker_email, 'name:' || lower(speaker_name)) as source_id,
        'chat_speaker' as record_kind,
        mode(speaker_name) as full_name,
        speaker_email as email,
        min(sent_at) as first_seen_at,
        max(sent_at) as last_seen_at
    from {{ ref('stg_chat__messages') }}
    where speaker_email is not null or speaker_name is not null
    group by all
),

invoice_customers as (
    select source, invoice_id as source_id, 'invoice_customer' as record_kind,
           customer_name as full_name, customer_email as email, company,
           issued_at as first_seen_at, issued_at as last_seen_at
    from {{ ref('stg_billing__invoices') }}
),

participants as (
    select source, source_id, record_kind, null::varchar as first_name,
           null::varchar as last_name, full_name, email, null::varchar as phone,
           null::varchar as dob, null::varchar as city, null::varchar as postcode,
           null::varchar as company, first_seen_at, last_seen_at
    from (
        select * from email_people
        union all by name select * from calendar_people
        union all by name select * from chat_people
    )
    where source_id is not null
    union all
    select source, source_id, record_kind, null, null, full_name, email, null, null, null, null,
           company, first_seen_at, last_seen_at
    from invoice_customers
),

all_records as (
    select *, 1 as priority from contacts
    union all
    select *, 2 as priority from participants
)

select * exclude (priority)
from all_records
qualify row_number() over (partition by source, source_id order by priority, last_seen_at desc) = 1
