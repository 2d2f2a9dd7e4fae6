-- Operator notes (Markdown files; kind `note`).
with note_events as (
    select * from {{ source('aios', 'events_current') }}
    where kind = 'note'
),

notes as (
    select
        source,
        source_id as note_id,
        event_id,
        subject as title,
        text as body,
        occurred_at as written_at,
        thread as thread_id,
        coalesce({{ pl('author') }}, actor) as author,
        case when json_type(payload -> 'tags') = 'ARRAY'
             then from_json(payload -> 'tags', '["VARCHAR"]')
             when {{ pl('tags') }} is not null
             then list_transform(string_split({{ pl('tags') }}, ','), t -> trim(t))
        end as tags,
        {{ pl('project') }} as project,
        ingested_at
    from note_events
)

select * from notes
