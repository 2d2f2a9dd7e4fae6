-- What the business sells, from invoice line descriptions (one product per distinct
-- description, case and spacing ignored).
with invoices as (
    select * from {{ ref('stg_billing__invoices') }}
    where description is not null
),

products as (
    select
        'prd_' || left(md5(lower(regexp_replace(trim(description), '\s+', ' ', 'g'))), 16)
            as product_id,
        mode(description) as name,
        count(*) as invoice_count,
        sum(amount) as invoiced_amount,
        mode(currency) as currency,
        min(issued_at) as first_sold_at,
        max(issued_at) as last_sold_at
    from invoices
    group by 1
)

select * from products
