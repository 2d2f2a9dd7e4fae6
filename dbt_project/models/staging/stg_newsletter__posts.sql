-- Newsletter posts (events of kind `post`, any source).
with post_events as (
    select * from {{ source('aios', 'events_current') }}
    where kind = 'post'
),

posts as (
    select
        source,
        source_id as post_id,
        event_id,
        subject as title,
        text as body,
        occurred_at as published_at,
        thread as thread_id,
        payload,
        ingested_at
    from post_events
)

select * from posts
