-- One row per (interaction, person): every sender / recipient of an email, every organizer /
-- attendee of a meeting and every speaker of a chat or transcript turn, with the canonical
-- entity it resolved to.
with membership as (
    select source, source_id, entity_id from {{ ref('entity_membership') }}
),

emails as (
    select
        p.source,
        p.message_id as source_event_id,
        'email' as interaction_type,
        p.role,
        coalesce(p.email, 'name:' || lower(p.display_name)) as person_key,
        p.email,
        p.display_name,
        m.sent_at as occurred_at,
        m.thread_id,
        m.subject
    from {{ ref('stg_email__participants') }} p
    join {{ ref('stg_email__messages') }} m using (source, message_id)
),

meetings as (
    select
        a.source,
        a.meeting_id as source_event_id,
        'meeting' as interaction_type,
        a.role,
        coalesce(a.email, 'name:' || lower(a.display_name)) as person_key,
        a.email,
        a.display_name,
        a.starts_at as occurred_at,
        m.thread_id,
        m.title as subject
    from {{ ref('stg_calendar__attendees') }} a
    join {{ ref('stg_calendar__meetings') }} m using (source, meeting_id)
),

chats as (
    select
        source,
        message_id as source_event_id,
        kind as interaction_type,
        'speaker' as role,
        coalesce(speaker_email, 'name:' || lower(speaker_name)) as person_key,
        speaker_email as email,
        speaker_name as display_name,
        sent_at as occurred_at,
        thread_id,
        null::varchar as subject
    from {{ ref('stg_chat__messages') }}
    where speaker_email is not null or speaker_name is not null
),

interactions as (
    select * from emails
    union all select * from meetings
    union all select * from chats
),

final as (
    select
        md5(concat_ws('|', i.source, i.source_event_id, i.role, i.person_key)) as interaction_id,
        i.source,
        i.source_event_id,
        i.interaction_type,
        i.role,
        membership.entity_id,
        i.email,
        i.display_name,
        i.occurred_at,
        i.thread_id,
        i.subject
    from interactions i
    left join membership
      on membership.source = i.source and membership.source_id = i.person_key
    -- an address with neither a mailbox nor a name ("@example.com", "Name addr" without <>)
    -- is no person: int_person_records keeps no record for it either; the raw value stays in
    -- stg_email__participants / stg_calendar__attendees
    where i.person_key is not null
    qualify row_number() over (
        partition by i.source, i.source_event_id, i.role, i.person_key order by i.occurred_at
    ) = 1
)

select * from final
