-- Every address on every message: the sender, each To and each Cc.
with messages as (
    select * from {{ ref('stg_email__messages') }}
),

senders as (
    select message_id, source, sent_at, 'from' as role, from_raw as raw from messages
),

recipients as (
    select message_id, source, sent_at, 'to' as role, unnest(to_raw) as raw from messages
    union all
    select message_id, source, sent_at, 'cc' as role, unnest(cc_raw) as raw from messages
),

participants as (
    select
        message_id,
        source,
        sent_at,
        role,
        raw,
        {{ email_of('raw') }} as email,
        {{ display_name_of('raw') }} as display_name
    from (select * from senders union all select * from recipients)
    where raw is not null and trim(raw) <> ''
)

select * from participants
