-- One row per newsletter post: the post (if ingested) with its send analytics and rates.
with posts as (
    select post_id, title, published_at from {{ ref('stg_newsletter__posts') }}
),

metrics as (
    select * from {{ ref('stg_newsletter__content_metrics') }}
),

joined as (
    select
        coalesce(posts.post_id, metrics.post_id) as post_id,
        coalesce(posts.title, metrics.title) as title,
        posts.published_at,
        metrics.sent_at,
        metrics.recipients,
        metrics.opens,
        metrics.clicks,
        metrics.unsubscribes,
        metrics.paid_signups,
        (posts.post_id is not null) as has_post,
        (metrics.post_id is not null) as has_metrics
    from posts
    full outer join metrics using (post_id)
),

final as (
    select
        *,
        opens / nullif(recipients, 0)::double as open_rate,
        clicks / nullif(recipients, 0)::double as click_rate,
        clicks / nullif(opens, 0)::double as click_to_open_rate,
        unsubscribes / nullif(recipients, 0)::double as unsubscribe_rate,
        paid_signups / nullif(recipients, 0)::double as paid_signup_rate
    from joined
)

select * from final
