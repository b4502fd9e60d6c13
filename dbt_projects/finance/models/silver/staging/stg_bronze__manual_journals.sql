-- stg_bronze__manual_journals: journal lines booked by hand by the accountants (accruals, corrections), one row per (journal_id, line_number).

with

source as (

    select * from {{ source('bronze', 'manual_journals') }}

),

renamed as (

    select
        journal_id,
        line_number,
        entry_date,
        account_id,
        department_id,
        debit,
        credit,
        description,
        _source_file,
        _row_number

    from source

)

select * from renamed
