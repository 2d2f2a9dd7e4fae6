-- One row per invoice with its customer entity, organization, product and payment state.
with invoices as (
    select * from {{ ref('stg_billing__invoices') }}
),

payments as (
    select
        invoice_id,
        sum(amount) as paid_amount,
        count(*) as payment_count,
        max(paid_at) as last_paid_at
    from {{ ref('stg_billing__payments') }}
    group by invoice_id
),

membership as (
    select source, source_id, entity_id from {{ ref('entity_membership') }}
),

contacts as (
    select entity_id, organization_id from {{ ref('dim_contacts') }}
),

final as (
    select
        invoices.invoice_id,
        invoices.source,
        invoices.event_id,
        membership.entity_id as customer_entity_id,
        invoices.customer_name,
        invoices.customer_email,
        coalesce(org_by_company.organization_id, contacts.organization_id) as organization_id,
        case when invoices.description is not null
             then {{ product_id_of('invoices.description') }} end as product_id,
        invoices.description,
        invoices.issued_at,
        invoices.due_at,
        invoices.amount,
        invoices.currency,
        invoices.status as status_reported,
        coalesce(payments.paid_amount, 0) as paid_amount,
        invoices.amount - coalesce(payments.paid_amount, 0) as balance,
        payments.payment_count,
        payments.last_paid_at,
        (coalesce(payments.paid_amount, 0) >= invoices.amount
            or invoices.status = 'paid') as is_paid,
        case
            when coalesce(payments.paid_amount, 0) >= invoices.amount or invoices.status = 'paid'
                then 'paid'
            when invoices.status in ('void', 'cancelled', 'canceled') then invoices.status
            when invoices.due_at < now() then 'overdue'
            else 'open'
        end as payment_state
    from invoices
    left join payments using (invoice_id)
    left join membership
      on membership.source = invoices.source and membership.source_id = invoices.invoice_id
    left join contacts using (entity_id)
    left join {{ ref('int_organization_keys') }} org_by_company
      on org_by_company.company_key = {{ company_key('invoices.company') }}
     and org_by_company.domain is null
)

select * from final
