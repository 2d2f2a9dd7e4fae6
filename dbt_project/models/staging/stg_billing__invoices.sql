-- One row per invoice (latest version).
with invoice_events as (
    select * from {{ source('aios', 'events_current') }}
    where kind = 'invoice'
),

invoices as (
    select
        source,
        source_id as invoice_id,
        event_id,
        lower({{ pl('customer_email') }}) as customer_email,
        coalesce({{ pl('customer_name') }}, actor) as customer_name,
        {{ pl('company') }} as company,
        coalesce(try_cast({{ pl('issued_at') }} as timestamptz), occurred_at) as issued_at,
        try_cast({{ pl('due_at') }} as timestamptz) as due_at,
        try_cast({{ pl('amount') }} as decimal(18, 2)) as amount,
        upper(coalesce({{ pl('currency') }}, 'USD')) as currency,
        lower({{ pl('status') }}) as status,
        {{ pl('description') }} as description,
        ingested_at
    from invoice_events
)

select * from invoices
