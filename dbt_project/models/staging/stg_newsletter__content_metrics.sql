-- Content analytics rows (one per post send), latest version.
with metric_events as (
    select * from {{ source('aios', 'events_current') }}
    where kind = 'content_metrics'
),

metrics as (
    select
        source,
        source_id as post_id,
        event_id,
        coalesce({{ pl('title') }}, subject) as title,
        coalesce(try_cast({{ pl('sent_at') }} as timestamptz), occurred_at) as sent_at,
        try_cast({{ pl('recipients') }} as bigint) as recipients,
        try_cast({{ pl('opens') }} as bigint) as opens,
        try_cast({{ pl('clicks') }} as bigint) as clicks,
        try_cast({{ pl('unsubscribes') }} as bigint) as unsubscribes,
        try_cast({{ pl('paid_signups') }} as bigint) as paid_signups,
        ingested_at
    from metric_events
)

select * from metrics
