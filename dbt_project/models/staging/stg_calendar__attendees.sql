-- The organizer and every attendee of every meeting.
with meetings as (
    select * from {{ ref('stg_calendar__meetings') }}
),

organizers as (
    select meeting_id, source, starts_at, 'organizer' as role,
           organizer_email as email, organizer_name as display_name
    from meetings
    where organizer_raw is not null
),

attendees as (
    select meeting_id, source, starts_at, 'attendee' as role,
           nullif(lower(trim(a.email)), '') as email, nullif(trim(a.name), '') as display_name
    from (select meeting_id, source, starts_at, unnest(attendees) as a from meetings)
)

select * from organizers
union all
select * from attendees where email is not null or display_name is not null
