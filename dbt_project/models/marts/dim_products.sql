-- What the business sells, from invoice line descriptions: one product per description with
-- its billing period removed ("Q3 retainer - July 2026" -> "retainer"; see the
-- product_name_of macro), with what was sold, to how many customers, and when.
with invoices as (
    select * from {{ ref('fct_invoices') }}
    where product_id is not null
),

products as (
    select
        product_id,
        -- "Q3 retainer - July 2026" -> "Retainer"
        upper(left({{ product_name_of('mode(description order by description)') }}, 1))
            || substr({{ product_name_of('mode(description order by description)') }}, 2) as name,
        count(*) as invoice_count,
        count(distinct coalesce(organization_id, customer_entity_id)) as customer_count,
        sum(amount) as invoiced_amount,  -- in the invoices' currencies: see currency_count
        sum(amount - balance) as paid_amount,
        mode(currency order by currency) as currency,
        count(distinct currency) as currency_count,
        median(amount) as median_invoice_amount,
        min(issued_at) as first_sold_at,
        max(issued_at) as last_sold_at,
        list(distinct description order by description) as descriptions
    from invoices
    group by product_id
)

select * from products
