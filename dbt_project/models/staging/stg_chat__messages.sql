-- Chat messages and meeting-transcript turns: one row per turn.
with chat_events as (
    select * from {{ source('aios', 'events_current') }}
    where kind in ('chat_message', 'transcript_turn')
),

messages as (
    select
        source,
        source_id as message_id,
        event_id,
        kind,
        thread as thread_id,
        occurred_at as sent_at,
        actor as speaker_raw,
        {{ email_of('actor') }} as speaker_email,
        coalesce({{ display_name_of('actor') }},
                 case when actor not like '%@%' then nullif(trim(actor), '') end) as speaker_name,
        text as body,
        ingested_at
    from chat_events
)

select * from messages
