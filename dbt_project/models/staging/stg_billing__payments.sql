-- One row per payment (latest version).
with payment_events as (
    select * from {{ source('aios', 'events_current') }}
    where kind = 'payment'
),

payments as (
    select
        source,
        source_id as payment_id,
        event_id,
        {{ pl('invoice_id') }} as invoice_id,
        coalesce(try_cast({{ pl('paid_at') }} as timestamptz), occurred_at) as paid_at,
        try_cast({{ pl('amount') }} as decimal(18, 2)) as amount,
        upper(coalesce({{ pl('currency') }}, 'USD')) as currency,
        {{ pl('method') }} as method,
        ingested_at
    from payment_events
)

select * from payments
