-- Email send / receive / read counts per user. Names are concealed (32 hex characters, names_concealed) unless the tenant's report settings reveal them.
{{ m365_usage_staging('usage_email_activity_user_detail', keys=['user_principal_name']) }}
