-- Newsletter subscribers: contact events whose source is `newsletter`.
with subscriber_events as (
    select * from {{ source('aios', 'events_current') }}
    where kind = 'contact' and source = 'newsletter'
),

first_seen as (
    select source, source_id, min(ingested_at) as first_seen_at
    from {{ source('aios', 'event_log') }}
    where kind = 'contact' and source = 'newsletter'
    group by all
),

subscribers as (
    select
        {{ contact_columns() }},
        {{ pl('status') }} as subscription_status,
        {{ pl('plan') }} as plan,
        {{ pl('subscribed_at') }} as subscribed_at
    from subscriber_events
)

select subscribers.*, first_seen.first_seen_at
from subscribers
left join first_seen using (source, source_id)
