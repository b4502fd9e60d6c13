-- int_payslips_attributed: payslips of known employees with the department they were charged to.
-- Payslips of employee ids missing from the employee master are in quarantine_unknown_employees.

with

payslips as (

    select * from {{ ref('stg_bronze__payroll_runs') }}

),

employees as (

    select employee_id from {{ ref('stg_bronze__employees') }}

),

attributed as (

    select
        payslips.payslip_id,
        payslips.employee_id,
        payslips.pay_period,
        payslips.pay_date,
        payslips.department_id,
        payslips.gross_pay,
        payslips.employee_tax,
        payslips.employer_contributions,
        payslips.net_pay,
        payslips.currency

    from payslips
    inner join employees
        on payslips.employee_id = employees.employee_id

)

select * from attributed
