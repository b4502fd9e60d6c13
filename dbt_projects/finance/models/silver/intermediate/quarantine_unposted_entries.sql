-- quarantine_unposted_entries: journal entries that could not be posted, whole, with the reason
-- (no exchange rate for the document's currency and month, or a date outside every fiscal period).
-- The provider reconciliations then name the period and the difference they leave.

select
    entry_id,
    entry_date,
    journal,
    source_domain,
    source_reference,
    account_id,
    department_id,
    document_currency,
    document_amount,
    entry_problem as reason

from {{ ref('int_journal_lines_placed') }}
where not postable
