-- Contact rows from CRM-like exports (every `contact` event except newsletter subscribers),
-- latest version of each record.
with contact_events as (
    select * from {{ source('aios', 'events_current') }}
    where kind = 'contact' and source <> 'newsletter'
),

first_seen as (
    select source, source_id, min(ingested_at) as first_seen_at
    from {{ source('aios', 'event_log') }}
    where kind = 'contact'
    group by all
),

contacts as (
    select {{ contact_columns() }}
    from contact_events
)

select contacts.*, first_seen.first_seen_at
from contacts
left join first_seen using (source, source_id)
