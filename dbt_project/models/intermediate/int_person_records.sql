-- Every record that stands for a person, from every source, in one shape: the input of entity
-- resolution. (source, source_id) is unique:
--   contact rows          -> their own (source, source_id)
--   email participants    -> (message source, normalized address), or 'name:<name>' without one
--   calendar participants -> (calendar source, normalized address), or 'name:<name>'
--   chat speakers         -> (chat source, normalized address), or 'name:<name>'
--   invoice customers     -> (billing source, invoice_id)
--
-- Incremental: a contact row is rebuilt only when its contact event changed (a new current
-- version, by event_id and version); every other kind of record, which aggregates many events,
-- is recomputed on every run. The pre-hook deletes every row that is not the current version
-- of a contact, so the table always equals a full rebuild (`--full-refresh`). The pre-hook also
-- adds event_id / event_version to a table built before they existed (every contact is then
-- read once more). Any other change of columns stops the run until `dbt build --full-refresh`
-- (on_schema_change 'fail'): rows kept from earlier runs would lack the new column's values.
-- A table built before `street`, `state`, `country`, `title` or `dob_unparsed` existed is
-- emptied first, so every contact is read again. `dob_unparsed` is the raw text of a date of
-- birth the ingest could not read and left empty (a field issue, e.g. "19010271"): the
-- resolver uses its digits as typo evidence only.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook=[
        "{% if is_incremental() %}
         {% set have = adapter.get_columns_in_relation(this) | map(attribute='name') | list %}
         {% set missing = ['street', 'state', 'country', 'title', 'dob_unparsed']
                          | reject('in', have) | list %}
         {% if missing %}
         {% for col in missing %} alter table {{ this }} add column {{ col }} varchar; {% endfor %}
         delete from {{ this }}
         {% endif %}{% endif %}",
        "{% if is_incremental() %} alter table {{ this }}
         add column if not exists event_id varchar {% endif %}",
        "{% if is_incremental() %} alter table {{ this }}
         add column if not exists event_version integer {% endif %}",
        "{% if is_incremental() %}
         delete from {{ this }} t where not exists (
             select 1 from {{ source('aios', 'events_current') }} e
             where e.kind = 'contact' and e.source = t.source and e.source_id = t.source_id
               and e.event_id = t.event_id and e.version = t.event_version)
         {% endif %}",
    ],
) }}

with current_contact_events as (
    select source, source_id, event_id, version
    from {{ source('aios', 'events_current') }}
    where kind = 'contact'
),

contact_events_to_read as (
    select c.event_id from current_contact_events c
    {% if is_incremental() %}
    anti join {{ this }} t
      on t.source = c.source and t.source_id = c.source_id
     and t.event_id = c.event_id and t.event_version = c.version
    {% endif %}
),

-- (a warehouse from before the ingest kept field issues has no such table: no raw dobs)
{% set field_issues = source('aios', 'field_issues') %}
{% set have_issues = execute and load_relation(field_issues) is not none %}
dob_issues as (
    {% if have_issues %}
    select event_id, min(raw) as raw from {{ field_issues }}
    where field = 'dob' and raw is not null
    group by event_id
    {% else %}
    select null::varchar as event_id, null::varchar as raw where false
    {% endif %}
),

contact_rows as (
    select source, source_id, 'contact' as record_kind, first_name, last_name, full_name,
           email, phone, dob, city, postcode, company, first_seen_at, updated_at as last_seen_at,
           event_id, version as event_version, street, state, country, title
    from {{ ref('stg_crm__contacts') }}
    where event_id in (select event_id from contact_events_to_read)
    union all
    select source, source_id, 'subscriber' as record_kind, first_name, last_name, full_name,
           email, phone, dob, city, postcode, company, first_seen_at, updated_at as last_seen_at,
           event_id, version as event_version, street, state, country, title
    from {{ ref('stg_newsletter__subscribers') }}
    where event_id in (select event_id from contact_events_to_read)
),

contacts as (
    select c.*, case when c.dob is null then i.raw end as dob_unparsed
    from contact_rows c
    left join dob_issues i using (event_id)
),

email_people as (
    select
        source,
        coalesce(email, 'name:' || lower(display_name)) as source_id,
        'email_participant' as record_kind,
        mode(display_name order by display_name) as full_name,
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
        mode(display_name order by display_name) as full_name,
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
        mode(speaker_name order by speaker_name) as full_name,
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

-- a contact row wins over any other record with the same (source, source_id)
participants as (
    select source, source_id, record_kind, null::varchar as first_name,
           null::varchar as last_name, full_name, email, null::varchar as phone,
           null::varchar as dob, null::varchar as city, null::varchar as postcode,
           null::varchar as company, first_seen_at, last_seen_at,
           null::varchar as event_id, null::integer as event_version, null::varchar as street,
           null::varchar as state, null::varchar as country, null::varchar as title,
           null::varchar as dob_unparsed
    from (
        select * from email_people
        union all by name select * from calendar_people
        union all by name select * from chat_people
    )
    where source_id is not null
    union all
    select source, source_id, record_kind, null, null, full_name, email, null, null, null, null,
           company, first_seen_at, last_seen_at, null, null, null, null, null, null, null
    from invoice_customers
),

other_records as (
    select p.* from participants p
    anti join current_contact_events c on c.source = p.source and c.source_id = p.source_id
),

all_records as (
    select *, 1 as priority from contacts
    union all
    select *, 2 as priority from other_records
)

select * exclude (priority)
from all_records
qualify row_number() over (partition by source, source_id order by priority, last_seen_at desc) = 1
