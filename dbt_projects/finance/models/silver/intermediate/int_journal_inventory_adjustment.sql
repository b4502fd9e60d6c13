-- int_journal_inventory_adjustment: at the reporting date the inventory account is brought to the
-- inventory domain's valuation of the stock on hand (book-to-physical); the difference goes to
-- inventory adjustments (shrinkage, or gains when the count is higher than the books).

with

book as (

    select coalesce(sum(amount), 0) as book_value
    from {{ ref('int_journal_lines_unadjusted') }}
    where account_id = {{ account('inventory') }}
        and entry_date <= {{ reporting_date() }}

),

physical as (

    select coalesce(sum(inventory_value), 0) as physical_value
    from {{ ref('stg_ports__inventory_stock_levels') }}

),

adjustment as (

    select {{ reporting_date() }} as adjusted_on, physical_value - book_value as difference
    from book, physical

),

postings as (

    select
        'IA-' || strftime(adjusted_on, '%Y%m%d') as entry_id,
        adjusted_on as entry_date,
        'inventory.stock_levels at ' || cast(adjusted_on as varchar) as source_reference,
        {{ account('inventory') }} as account_id,
        {{ department('operations') }} as department_id,
        difference as amount,
        'EUR' as document_currency,
        difference as document_amount,
        'Inventory brought to the stock valuation' as description
    from adjustment

    union all

    select
        'IA-' || strftime(adjusted_on, '%Y%m%d'),
        adjusted_on,
        'inventory.stock_levels at ' || cast(adjusted_on as varchar),
        {{ account('inventory_adjustments') }},
        {{ department('operations') }},
        -difference,
        'EUR',
        -difference,
        'Inventory difference to the stock count'
    from adjustment

)

{{ journal_lines('postings', 'inventory_adjustment', 'inventory') }}
