-- One row per calendar event (VEVENT), latest version.
with meeting_events as (
    select * from {{ source('aios', 'events_current') }}
    where kind = 'meeting'
),

meetings as (
    select
        source,
        source_id as meeting_id,
        event_id,
        thread as thread_id,
        subject as title,
        text as description,
        occurred_at as starts_at,
        try_cast(payload ->> 'end' as timestamptz) as ends_at,
        -- an all-day event's start and end are dates (DTSTART;VALUE=DATE), end exclusive
        length(payload ->> 'start') = 10 as is_all_day,
        case when length(payload ->> 'start') = 10
             then try_cast(payload ->> 'start' as date) end as start_date,
        case when length(payload ->> 'end') = 10
             then try_cast(payload ->> 'end' as date) end as end_date,
        upper(payload ->> 'status') as status,
        payload ->> 'tzid' as tzid,
        payload ->> 'location' as location,
        payload ->> 'organizer' as organizer_raw,
        {{ email_of("payload ->> 'organizer'") }} as organizer_email,
        {{ display_name_of("payload ->> 'organizer'") }} as organizer_name,
        coalesce(
            from_json(payload -> 'attendees', '[{"name": "VARCHAR", "email": "VARCHAR"}]'), []
        ) as attendees,
        ingested_at
    from meeting_events
)

select * from meetings
