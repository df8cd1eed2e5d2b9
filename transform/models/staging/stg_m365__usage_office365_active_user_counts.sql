-- Active users per service (tenant totals) per report date. Names are concealed (32 hex characters, names_concealed) unless the tenant's report settings reveal them.
{{ m365_usage_staging('usage_office365_active_user_counts', keys=['report_period']) }}
