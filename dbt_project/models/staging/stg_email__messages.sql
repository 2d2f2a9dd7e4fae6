-- One row per email message (latest version).
with email_events as (
    select * from {{ source('aios', 'events_current') }}
    where kind = 'email'
),

messages as (
    select
        source,
        source_id as message_id,
        event_id,
        thread as thread_id,
        occurred_at as sent_at,
        ingested_at,
        subject,
        text as body,
        payload ->> 'from' as from_raw,
        {{ email_of("payload ->> 'from'") }} as from_email,
        {{ display_name_of("payload ->> 'from'") }} as from_name,
        coalesce(from_json(payload -> 'to', '["VARCHAR"]'), []) as to_raw,
        coalesce(from_json(payload -> 'cc', '["VARCHAR"]'), []) as cc_raw,
        payload ->> 'in_reply_to' as in_reply_to
    from email_events
)

select * from messages
